import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, AppConfig, Role } from '@cc/common';
import { AuthRepository, TOKEN_VERSIONS_CHANNEL } from './auth.repository';

const MAX_ENTRIES = 100_000;
const RETRY_MS = { first: 100, max: 2000 };
const HEARTBEAT_MS = 2000;

/** The versions read on one listener round trip, by role (an id not there: no such user). */
type Read = Map<Role, Map<number, number>>;

interface Waiter {
  /** The misses this check needs read on the round trip (none: a check answered from the cache waits for the trip only). */
  role: Role;
  ids: number[];
  /** The round trip's read once it has come back; null when the listener failed. */
  resolve(read: Read | null): void;
}

type Key = `${Role}:${number}`;

/** Reads the token versions of these ids of one role from the database (a missing id: no such user). */
type Loader = (ids: number[]) => Promise<Map<number, number>>;

/**
 * Token versions held in process, so that an authenticated request does not read the database.
 * Every bump of a token version (and every deletion of a user) notifies `token_versions` in its
 * own transaction (a trigger, migration TokenVersionNotify), delivered at commit to every
 * instance's listener connection, which drops the entry.
 *
 * A notification travels on its own: it may reach this instance after the revoking request's
 * answer has reached the client, which may then already be asking here. So before answering from
 * the cache, a check waits for a round trip on the listener connection sent after the check
 * began (one round trip serves every check that arrived meanwhile): PostgreSQL (14+) sends the
 * notifications signalled before that query ends ahead of its answer, and the revoking commit
 * signalled before its own client heard of it. Revocation thus holds on every instance at once.
 * The round trip is also the read of the misses of the checks it serves (`SELECT 1` when there
 * are none): a burst of new sessions' first requests costs one statement per round trip, not two.
 *
 * The cache is used only while the listener is connected and listening: when it is lost (error,
 * end, a round trip that fails) the cache is emptied and every check reads the database until
 * the listener is back, so a notification missed meanwhile cannot leave a stale entry. A read
 * that started before a notification does not store its answer (the generation moved).
 * The embedded engine serves one connection only: there the cache stays off (one instance anyway).
 */
@Injectable()
export class TokenVersionCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TokenVersionCache');
  private readonly entries = new Map<Key, number | null>();
  private generation = 0;
  private client: Client | null = null;
  private listening = false;
  private stopped = false;
  private retryMs = RETRY_MS.first;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private waiting: Waiter[] = [];
  private pinging = false;
  private pingScheduled = false;
  /** What the cache did, for tests and measurements (`reads`: listener round trips that read misses). */
  readonly counts = { hits: 0, misses: 0, reads: 0, bypassed: 0, invalidations: 0, connects: 0 };

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig, private readonly repo: AuthRepository) {}

  get active(): boolean {
    return this.listening;
  }

  onApplicationBootstrap(): void {
    // The embedded engine (no DATABASE_URL) serves one connection only.
    if (this.config.databaseUrl && this.config.databaseListenUrl) void this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.drop();
  }

  /**
   * The version of each id (null: no such user), from the cache where it may answer, else read on
   * the listener round trip the check waits for anyway; `load` (which must answer for any ids of
   * that role) only while the listener is down.
   */
  async versions(role: Role, ids: number[], load: Loader): Promise<Map<number, number | null>> {
    const out = new Map<number, number | null>();
    let wanted = ids;
    while (wanted.length) {
      const missing = this.listening ? wanted.filter((id) => !this.entries.has(`${role}:${id}`)) : wanted;
      const read = this.listening ? await this.sync(role, missing) : null;
      if (!read) {
        this.counts.bypassed += wanted.length;
        const loaded = await load(wanted);
        for (const id of wanted) out.set(id, loaded.get(id) ?? null);
        return out;
      }
      this.counts.misses += missing.length;
      const versions = read.get(role);
      const again: number[] = [];
      for (const id of wanted) {
        const key: Key = `${role}:${id}`;
        if (missing.includes(id)) out.set(id, versions?.get(id) ?? null);
        else if (this.entries.has(key)) {
          this.counts.hits++;
          out.set(id, this.entries.get(key)!);
        }
        // A notification during the round trip dropped it: read it on the next one.
        else again.push(id);
      }
      wanted = again;
    }
    return out;
  }

  /** The read of `ids` of `role` on a listener round trip sent after this call (so every earlier notification is in); null when the listener failed. */
  private sync(role: Role, ids: number[]): Promise<Read | null> {
    return new Promise((resolve) => {
      this.waiting.push({ role, ids, resolve });
      this.schedulePing();
    });
  }

  /**
   * The next round trip leaves at the end of this turn of the event loop (or once the one in
   * flight is back): the checks of requests read in the same turn share it, rather than the
   * first going alone and the others waiting for the next.
   */
  private schedulePing(): void {
    if (this.pinging || this.pingScheduled) return;
    this.pingScheduled = true;
    setImmediate(() => {
      this.pingScheduled = false;
      if (!this.pinging && this.waiting.length) this.pingWaiting();
    });
  }

  private pingWaiting(): void {
    const client = this.client;
    const batch = this.waiting;
    this.waiting = [];
    if (!client || !this.listening) {
      for (const w of batch) w.resolve(null);
      return;
    }
    const misses = new Map<Role, number[]>();
    for (const w of batch) if (w.ids.length) misses.set(w.role, [...new Set([...(misses.get(w.role) ?? []), ...w.ids])]);
    // A read that started before a notification does not store its answer (the generation moved).
    const generation = this.generation;
    if (misses.size) this.counts.reads++;
    this.pinging = true;
    const trip: Promise<Read> = misses.size ? this.repo.tokenVersionsOn(client, misses) : this.repo.ping(client).then(() => new Map());
    trip.then(
      (read) => {
        this.pinging = false;
        const synced = this.listening && this.client === client;
        if (synced && generation === this.generation) {
          for (const [role, ids] of misses) for (const id of ids) this.remember(`${role}:${id}`, read.get(role)?.get(id) ?? null);
        }
        for (const w of batch) w.resolve(synced ? read : null);
        if (this.waiting.length) this.schedulePing();
      },
      (err: Error) => {
        this.pinging = false;
        for (const w of batch) w.resolve(null);
        this.lost(client, `round trip: ${err.message}`);
        if (this.waiting.length) this.schedulePing();
      },
    );
  }

  private remember(key: Key, version: number | null): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as Key);
    this.entries.set(key, version);
  }

  private invalidate(key?: string): void {
    this.generation++;
    this.counts.invalidations++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key as Key);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.config.databaseListenUrl!,
      keepAlive: true,
      connectionTimeoutMillis: this.config.dbTimeoutMs,
      // A slow round trip holds requests back: give up sooner than DB_TIMEOUT_MS, so the fallback read still fits in it.
      query_timeout: Math.min(2000, Math.floor(this.config.dbTimeoutMs / 2)),
    });
    this.client = client;
    client.on('error', (err) => this.lost(client, err.message));
    client.on('end', () => this.lost(client, 'connection ended'));
    client.on('notification', (n) => {
      if (n.channel === TOKEN_VERSIONS_CHANNEL) this.invalidate(n.payload);
    });
    try {
      await client.connect();
      await this.repo.listenForTokenVersions(client);
    } catch (err) {
      this.lost(client, (err as Error).message);
      return;
    }
    if (this.client !== client || this.stopped) return;
    // Whatever was cached before this LISTEN may have missed a notification.
    this.invalidate();
    this.listening = true;
    this.retryMs = RETRY_MS.first;
    this.counts.connects++;
    // An idle instance still finds out that its listener is gone.
    this.heartbeat = setInterval(() => {
      if (!this.pinging) this.repo.ping(client).catch((err: Error) => this.lost(client, `heartbeat: ${err.message}`));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private lost(client: Client, reason: string): void {
    if (this.client !== client) return;
    if (this.listening) this.logger.warn(`token-version listener lost (${reason}): checks read the database until it is back`);
    void this.drop();
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MS.max);
  }

  private async drop(): Promise<void> {
    this.listening = false;
    for (const w of this.waiting.splice(0)) w.resolve(null);
    this.invalidate();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
