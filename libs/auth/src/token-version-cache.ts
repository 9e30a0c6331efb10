import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, AppConfig, Role } from '@cc/common';
import { AuthRepository, TOKEN_VERSIONS_CHANNEL } from './auth.repository';

const MAX_ENTRIES = 100_000;
const RETRY_MS = { first: 100, max: 2000 };
const HEARTBEAT_MS = 2000;

interface Waiter {
  resolve(synced: boolean): void;
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
  /** By role: the read of this turn's misses, not yet sent (see loadTogether). */
  private readonly nextLoad = new Map<Role, { ids: Set<number>; result: Promise<Map<number, number>> }>();
  /** What the cache did, for tests and measurements (`reads`: database reads of misses). */
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
   * The version of each id (null: no such user), from the cache where it may answer, else from
   * `load` (which must answer for any ids of that role: the misses of several checks share one).
   */
  async versions(role: Role, ids: number[], load: Loader): Promise<Map<number, number | null>> {
    const out = new Map<number, number | null>();
    if (!this.listening || !(await this.sync())) {
      this.counts.bypassed += ids.length;
      const loaded = await load(ids);
      for (const id of ids) out.set(id, loaded.get(id) ?? null);
      return out;
    }
    const missing: number[] = [];
    for (const id of ids) {
      const key: Key = `${role}:${id}`;
      if (this.entries.has(key)) out.set(id, this.entries.get(key)!);
      else missing.push(id);
    }
    this.counts.hits += ids.length - missing.length;
    if (!missing.length) return out;
    this.counts.misses += missing.length;
    const generation = this.generation;
    const loaded = await this.loadTogether(role, missing, load);
    const store = this.listening && generation === this.generation;
    for (const id of missing) {
      const version = loaded.get(id) ?? null;
      out.set(id, version);
      if (store) this.remember(`${role}:${id}`, version);
    }
    return out;
  }

  /**
   * The misses of one turn of the event loop are read together, in one query: a burst of new
   * sessions' first requests (each a miss) would otherwise cost a read each. A check joins only
   * a read not yet sent, so the read still starts after the check's own listener round trip.
   */
  private loadTogether(role: Role, ids: number[], load: Loader): Promise<Map<number, number>> {
    let next = this.nextLoad.get(role);
    if (!next) {
      const entry = { ids: new Set<number>(), result: Promise.resolve(new Map<number, number>()) };
      entry.result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.nextLoad.delete(role);
        this.counts.reads++;
        return load([...entry.ids]);
      });
      this.nextLoad.set(role, entry);
      next = entry;
    }
    for (const id of ids) next.ids.add(id);
    return next.result;
  }

  /** True once a listener round trip sent after this call has come back (so every earlier notification is in); false when the listener failed. */
  private sync(): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting.push({ resolve });
      if (!this.pinging) this.pingWaiting();
    });
  }

  private pingWaiting(): void {
    const client = this.client;
    const batch = this.waiting;
    this.waiting = [];
    if (!client || !this.listening) {
      for (const w of batch) w.resolve(false);
      return;
    }
    this.pinging = true;
    this.repo.ping(client).then(
      () => {
        this.pinging = false;
        for (const w of batch) w.resolve(this.listening && this.client === client);
        if (this.waiting.length) this.pingWaiting();
      },
      (err: Error) => {
        this.pinging = false;
        for (const w of batch) w.resolve(false);
        this.lost(client, `round trip: ${err.message}`);
        if (this.waiting.length) this.pingWaiting();
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
    for (const w of this.waiting.splice(0)) w.resolve(false);
    this.invalidate();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
