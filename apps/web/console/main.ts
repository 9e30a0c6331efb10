import { html, render } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  AgentClient,
  AgentState,
  AgentStatusView,
  ConnectionState,
  ConversationView,
  MessageView,
  PauseReasonView,
  QueueStatsView,
  RestClient,
  UserView,
} from '@cc/client';
import { clock, duration, errorText, safeStorage, Store, typingNotifier, useStore, withMessage } from '../shared/store';
import '../shared/base.css';
import './console.css';

/** Signed in per browser tab (sessionStorage): a reload keeps the session, another tab asks again. */
const SESSION_KEY = 'cc.console.session';
const sessionStorage = safeStorage('session');

interface Session {
  token: string;
  user: UserView;
}

/** A conversation of the list: active, offered (API.md section 11, with `offerExpiresAt`) or resolved. */
type Conversation = ConversationView;

interface Entry {
  conversation: Conversation;
  customerName: string | null;
  messages: MessageView[];
  unread: number;
  customerTyping: boolean;
}

/**
 * A row of the supervisor's queue table: `GET /stats/queues` and `stats.queues` (section 13), or,
 * on a server without statistics, derived from `GET /queues` and the agents' statuses.
 */
type QueueRow = Pick<QueueStatsView, 'queueId' | 'name' | 'waiting' | 'oldestWaitingSince' | 'agents'> & Partial<QueueStatsView>;

interface AgentRow {
  id: number;
  name: string;
  state: AgentState;
  activeConversations: number;
  maxConcurrent: number;
  pauseReason: string | null;
}

interface State {
  session: Session | null;
  status: AgentStatusView | null;
  entries: Map<number, Entry>;
  selected: number | null;
  reasons: PauseReasonView[];
  connection: ConnectionState | null;
  error: string | null;
  queues: QueueRow[] | null;
  queueSource: 'stats' | 'derived' | null;
  agents: AgentRow[] | null;
  now: number;
}

const store = new Store<State>({
  session: null,
  status: null,
  entries: new Map(),
  selected: null,
  reasons: [],
  connection: null,
  error: null,
  queues: null,
  queueSource: null,
  agents: null,
  now: Date.now(),
});
let rest = new RestClient();
let client: AgentClient | null = null;
const statuses = new Map<number, AgentStatusView>();
const agentNames = new Map<number, string>();
let rawQueues: { id: number; name: string; waiting: { count: number; oldestSince: string | null }; memberIds: number[] }[] = [];
let timers: ReturnType<typeof setInterval>[] = [];

const me = () => store.state.session?.user;
const isAdmin = () => me()?.role === 'admin';

function fail(err: unknown): void {
  store.set({ error: errorText(err) });
}

function updateEntry(id: number, patch: (e: Entry) => Partial<Entry>): void {
  const current = store.state.entries.get(id);
  if (!current) return;
  const entries = new Map(store.state.entries);
  entries.set(id, { ...current, ...patch(current) });
  store.set({ entries });
}

function upsert(conversation: Conversation): void {
  const entries = new Map(store.state.entries);
  const current = entries.get(conversation.id);
  entries.set(conversation.id, current ? { ...current, conversation: { ...current.conversation, ...conversation } } : { conversation, customerName: null, messages: [], unread: 0, customerTyping: false });
  store.set({ entries, selected: store.state.selected ?? conversation.id });
  if (!current) {
    rest
      .conversationCustomer(conversation.id)
      .then((c) => updateEntry(conversation.id, () => ({ customerName: c.name ?? `Customer #${c.id}` })))
      .catch(() => updateEntry(conversation.id, () => ({ customerName: `Customer #${conversation.customerId}` })));
  }
}

function remove(id: number): void {
  const entries = new Map(store.state.entries);
  entries.delete(id);
  const selected = store.state.selected === id ? ([...entries.keys()][0] ?? null) : store.state.selected;
  store.set({ entries, selected });
}

function start(session: Session): void {
  client?.close();
  for (const t of timers) clearInterval(t);
  timers = [];
  rest = new RestClient({ token: session.token });
  store.set({ session, error: null, entries: new Map(), selected: null, status: null, queues: null, agents: null });
  const c = new AgentClient({ token: session.token });
  client = c;
  c.on('connection', ({ state }) => {
    store.set({ connection: state });
    if (state === 'unauthorized') signOut(false, 'Your session has ended. Please sign in again.');
  });
  c.on('ready', ({ user, conversations }) => {
    if (user.status) store.set({ status: user.status });
    for (const conversation of conversations) upsert(conversation);
    // Conversations we showed that are gone meanwhile (resolved, transferred) leave the list.
    const open = new Set(conversations.map((x) => x.id));
    for (const [id, e] of store.state.entries) if (!open.has(id) && e.conversation.status !== 'resolved') remove(id);
    if (isAdmin()) void refreshSupervisor();
  });
  c.on('agent.status', (status) => {
    if (status.id === me()?.id && me()?.role === 'agent') store.set({ status });
    if (isAdmin()) {
      statuses.set(status.id, status);
      deriveRows();
    }
  });
  c.on('conversation.assigned', ({ conversation }) => {
    if (isAdmin()) return scheduleQueues();
    if (conversation.agentId === me()?.id) upsert(conversation);
    else remove(conversation.id);
  });
  c.on('conversation.transferred', ({ conversation, toAgentId }) => {
    if (isAdmin()) return scheduleQueues();
    if (toAgentId === me()?.id) upsert(conversation);
    else remove(conversation.id);
  });
  c.on('conversation.resolved', ({ conversation }) => {
    if (isAdmin()) return scheduleQueues();
    updateEntry(conversation.id, () => ({ conversation, customerTyping: false }));
  });
  c.on('message.new', ({ message }) => {
    if (!store.state.entries.has(message.conversationId)) return;
    if (store.state.entries.get(message.conversationId)?.messages.some((m) => m.id === message.id)) return;
    updateEntry(message.conversationId, (e) => ({
      messages: withMessage(e.messages, message),
      unread: store.state.selected === message.conversationId || message.senderType !== 'customer' ? e.unread : e.unread + 1,
      customerTyping: message.senderType === 'customer' ? false : e.customerTyping,
    }));
  });
  c.on('typing', ({ conversationId, senderType, typing }) => senderType === 'customer' && updateEntry(conversationId, () => ({ customerTyping: typing })));

  c.on('stats.queues', (rows) => store.set({ queues: rows, queueSource: 'stats' }));
  // Offers (section 11): shown with Accept / Decline until accepted, declined or revoked.
  c.on('conversation.offered', ({ conversation, expiresAt }) => {
    if (!isAdmin()) upsert({ ...conversation, status: 'offered', offerExpiresAt: expiresAt });
  });
  c.on('conversation.offer.revoked', ({ conversationId }) => {
    const e = store.state.entries.get(conversationId);
    if (e?.conversation.status === 'offered') remove(conversationId);
  });

  if (session.user.role === 'agent') rest.pauseReasons().then((reasons) => store.set({ reasons }), () => undefined);
  timers.push(setInterval(() => store.set({ now: Date.now() }), 1000));
  if (session.user.role === 'admin') timers.push(setInterval(() => void refreshQueues(), 5000));
}

async function refreshSupervisor(): Promise<void> {
  try {
    const [agents, all] = await Promise.all([rest.agents({ limit: 100 }), rest.agentStatuses()]);
    for (const a of agents.data) agentNames.set(a.id, a.name);
    statuses.clear();
    for (const s of all) statuses.set(s.id, s);
    await refreshQueues();
  } catch (err) {
    fail(err);
  }
}

async function refreshQueues(): Promise<void> {
  try {
    const rows = await rest.statsQueues();
    store.set({ queues: rows, queueSource: 'stats' });
  } catch {
    // No statistics on this server: derive the rows from the queues and the agents' statuses.
    try {
      rawQueues = (await rest.queues({ limit: 100 })).data;
    } catch (err) {
      return fail(err);
    }
    store.set({ queueSource: 'derived' });
  }
  deriveRows();
}

let queuesTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleQueues(): void {
  if (queuesTimer) return;
  queuesTimer = setTimeout(() => {
    queuesTimer = null;
    void refreshQueues();
  }, 300);
}

const stateKey = (s: AgentState): keyof QueueRow['agents'] => (s === 'wrap-up' ? 'wrapUp' : s);

function deriveRows(): void {
  const agents: AgentRow[] = [...statuses.values()]
    .map((s) => ({ id: s.id, name: agentNames.get(s.id) ?? `Agent #${s.id}`, state: s.state, activeConversations: s.activeConversations, maxConcurrent: s.maxConcurrent, pauseReason: s.pauseReason?.name ?? null }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const patch: Partial<State> = { agents };
  if (store.state.queueSource === 'derived') {
    patch.queues = rawQueues.map((q) => {
      const counts = { offline: 0, available: 0, busy: 0, paused: 0, wrapUp: 0 };
      for (const id of q.memberIds) {
        const s = statuses.get(id);
        if (s) counts[stateKey(s.state)]++;
      }
      return { queueId: q.id, name: q.name, waiting: q.waiting.count, oldestWaitingSince: q.waiting.oldestSince, agents: counts };
    });
  }
  store.set(patch);
}

async function signIn(email: string, password: string): Promise<void> {
  try {
    const result = await new RestClient().login(email, password);
    const session = { token: result.accessToken, user: result.user };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    start(session);
  } catch (err) {
    store.set({ error: errorText(err) });
  }
}

function signOut(revoke = true, message: string | null = null): void {
  if (revoke) rest.logout().catch(() => undefined);
  client?.close();
  client = null;
  for (const t of timers) clearInterval(t);
  timers = [];
  sessionStorage.removeItem(SESSION_KEY);
  store.set({ session: null, status: null, entries: new Map(), selected: null, queues: null, agents: null, error: message });
}

async function presence(action: 'login' | 'pause' | 'resume' | 'logoff', reasonId?: number): Promise<void> {
  const id = me()?.id;
  if (!id) return;
  try {
    const status =
      action === 'login' ? await rest.presenceLogin(id) : action === 'pause' ? await rest.pause(id, reasonId) : action === 'resume' ? await rest.unpause(id) : await rest.presenceLogoff(id);
    store.set({ status, error: null });
  } catch (err) {
    fail(err);
  }
}

function SignIn({ error }: { error: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const submit = (e: Event) => {
    e.preventDefault();
    void signIn(email.trim(), password);
  };
  return html`<main>
    <form class="signin" onSubmit=${submit}>
      <h1>Agent console</h1>
      <label>Email<input type="email" name="email" autocomplete="username" required value=${email} onInput=${(e: Event) => setEmail((e.target as HTMLInputElement).value)} /></label>
      <label>Password<input type="password" name="password" autocomplete="current-password" required value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit">Sign in</button>
    </form>
  </main>`;
}

function Presence({ status, reasons }: { status: AgentStatusView | null; reasons: PauseReasonView[] }) {
  const [reason, setReason] = useState('');
  const logged = !!status?.logged;
  const state = status?.state ?? 'offline';
  return html`
    <span class="state" role="status" aria-label="Agent state"><span class=${`dot ${state}`} aria-hidden="true"></span>${state}${status?.paused && status.pauseReason ? ` (${status.pauseReason.name})` : ''}</span>
    <button type="button" disabled=${logged} onClick=${() => void presence('login')}>Log in</button>
    <label class="sr-only" for="pause-reason">Pause reason</label>
    <select id="pause-reason" value=${reason} disabled=${!logged || status?.paused} onChange=${(e: Event) => setReason((e.target as HTMLSelectElement).value)}>
      <option value="">No reason</option>
      ${reasons.map((r) => html`<option value=${String(r.id)}>${r.name}</option>`)}
    </select>
    <button type="button" disabled=${!logged || status?.paused} onClick=${() => void presence('pause', reason ? Number(reason) : undefined)}>Pause</button>
    <button type="button" disabled=${!status?.paused} onClick=${() => void presence('resume')}>Resume</button>
    <button type="button" disabled=${!logged} onClick=${() => void presence('logoff')}>Log off</button>
  `;
}

function ConversationList({ s }: { s: State }) {
  const entries = [...s.entries.values()].sort((a, b) => a.conversation.id - b.conversation.id);
  const select = (id: number) => {
    store.set({ selected: id });
    updateEntry(id, () => ({ unread: 0 }));
  };
  const offer = async (id: number, accept: boolean) => {
    try {
      const conversation = accept ? await rest.acceptOffer(id) : await rest.declineOffer(id);
      if (accept) upsert(conversation);
      else remove(id);
    } catch (err) {
      fail(err);
    }
  };
  return html`<nav class="sidebar">
    <h2 id="conversations-heading">Conversations</h2>
    <ul class="convs" aria-label="Conversations">
      ${entries.map((e) => {
        const c = e.conversation;
        const name = e.customerName ?? `Customer #${c.customerId}`;
        return html`<li key=${c.id} class=${s.selected === c.id ? 'selected' : ''}>
          <button type="button" class="pick" aria-current=${s.selected === c.id ? 'true' : undefined} onClick=${() => select(c.id)}>
            <span class="name">${name}</span>
            ${c.status !== 'active' && html`<span class=${`badge ${c.status}`}>${c.status}</span>`}
            ${e.unread > 0 && html`<span class="badge unread" aria-label=${`${e.unread} unread`}>${e.unread} new</span>`}
          </button>
          ${c.status === 'offered' &&
          html`<div class="offer-actions">
            <button class="primary" type="button" onClick=${() => void offer(c.id, true)}>Accept</button>
            <button type="button" onClick=${() => void offer(c.id, false)}>Decline</button>
            ${c.offerExpiresAt && html`<span class="muted">${duration((Date.parse(c.offerExpiresAt) - s.now) / 1000)} left</span>`}
          </div>`}
        </li>`;
      })}
    </ul>
    ${entries.length === 0 && html`<p class="empty">No conversations yet. ${s.status?.state === 'available' ? 'Waiting for customers…' : 'Log in and stay available to receive chats.'}</p>`}
  </nav>`;
}

function ConversationPane({ entry, myId }: { entry: Entry; myId: number }) {
  const c = entry.conversation;
  const [text, setText] = useState('');
  const [kind, setKind] = useState<'queue' | 'agent'>('queue');
  const [target, setTarget] = useState('');
  const logRef = useRef<HTMLOListElement>(null);
  const typing = useRef(typingNotifier((on) => client?.typing(c.id, on)));
  useEffect(() => {
    typing.current = typingNotifier((on) => client?.typing(c.id, on));
    setText('');
  }, [c.id]);
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [entry.messages.length, entry.customerTyping, c.id]);
  const open = c.status === 'active';
  const name = entry.customerName ?? `Customer #${c.customerId}`;

  const send = async (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body || !client) return;
    typing.current.stop();
    setText('');
    try {
      const sent = await client.send(c.id, body);
      if (store.state.entries.has(sent.conversationId)) updateEntry(sent.conversationId, (entry) => ({ messages: withMessage(entry.messages, sent) }));
    } catch (err) {
      setText(body);
      fail(err);
    }
  };
  const resolve = () => client?.resolve(c.id).then((conversation) => updateEntry(c.id, () => ({ conversation })), fail);
  const transfer = async (e: Event) => {
    e.preventDefault();
    const id = Number(target);
    if (!Number.isInteger(id) || id <= 0) return fail('Enter the id of the agent or queue to transfer to');
    try {
      await rest.transfer(c.id, kind === 'agent' ? { agentId: id } : { queueId: id });
      setTarget('');
      if (!(kind === 'agent' && id === myId)) remove(c.id);
    } catch (err) {
      fail(err);
    }
  };

  return html`<section class="pane" aria-label=${`Conversation with ${name}`}>
    <div class="pane-head">
      <h2>${name} <span class="muted">#${c.id} · ${c.channel}</span></h2>
      ${c.status === 'resolved' ? html`<span class="badge">resolved</span>` : ''}
      <button type="button" class="danger" disabled=${!open} onClick=${resolve}>Resolve</button>
      <form class="transfer" onSubmit=${transfer}>
        <label class="sr-only" for="transfer-kind">Transfer to</label>
        <select id="transfer-kind" value=${kind} disabled=${!open} onChange=${(e: Event) => setKind((e.target as HTMLSelectElement).value as 'queue' | 'agent')}>
          <option value="queue">Queue</option>
          <option value="agent">Agent</option>
        </select>
        <label class="sr-only" for="transfer-target">Transfer target id</label>
        <input id="transfer-target" inputmode="numeric" size="5" placeholder="id" disabled=${!open} value=${target} onInput=${(e: Event) => setTarget((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled=${!open}>Transfer</button>
      </form>
    </div>
    <ol class="log" role="log" aria-label="Messages" aria-live="polite" ref=${logRef}>
      ${entry.messages.map((m) => {
        const mine = m.senderType === 'agent' && m.senderId === myId;
        const who = m.senderType === 'customer' ? name : mine ? 'You' : m.senderType === 'agent' ? `Agent #${m.senderId}` : 'System';
        return html`<li key=${m.id} class=${`msg ${mine ? 'mine' : m.senderType === 'system' ? 'system' : ''}`}><span class="meta">${who} · ${clock(m.createdAt)}</span>${m.text}</li>`;
      })}
    </ol>
    <div class="typing" aria-live="polite">${entry.customerTyping ? `${name} is typing…` : ''}</div>
    <form class="composer" onSubmit=${send}>
      <label class="sr-only" for="composer">Message</label>
      <input id="composer" autocomplete="off" maxlength="4000" placeholder=${open ? 'Reply…' : c.status === 'offered' ? 'Accept the offer to reply' : 'This conversation is closed'} disabled=${!open} value=${text}
        onInput=${(e: Event) => (setText((e.target as HTMLInputElement).value), typing.current.input())} />
      <button class="primary" type="submit" disabled=${!open || !text.trim()}>Send</button>
    </form>
  </section>`;
}

/** So that a fresh install can run a chat at once: the admin adds an agent here (POST /agents). */
function AddAgent() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await rest.request('POST', '/agents', { name: name.trim(), email: email.trim(), password });
      setDone(`Added ${name.trim()}: sign in as ${email.trim()} in another tab to take chats.`);
      setName('');
      setEmail('');
      setPassword('');
      await refreshSupervisor();
    } catch (err) {
      setDone(null);
      fail(err);
    }
  };
  return html`<form class="add-agent" onSubmit=${submit} aria-label="Add an agent">
    <label>Name<input required maxlength="200" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
    <label>Agent email<input type="email" required value=${email} onInput=${(e: Event) => setEmail((e.target as HTMLInputElement).value)} /></label>
    <label>Agent password<input type="password" required autocomplete="new-password" value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} /></label>
    <button type="submit">Add agent</button>
    ${done && html`<p class="muted" role="status">${done}</p>`}
  </form>`;
}

function Supervisor({ s }: { s: State }) {
  const stats = s.queueSource === 'stats';
  const wait = (q: QueueRow) =>
    q.oldestWaitingSince ? duration((s.now - Date.parse(q.oldestWaitingSince)) / 1000) : typeof q.longestWaitSeconds === 'number' && q.waiting > 0 ? duration(q.longestWaitSeconds) : '—';
  return html`<section class="supervisor" aria-label="Supervisor">
    <h2>Queues ${s.queueSource === 'derived' ? html`<span class="muted">(from queues and agent statuses)</span>` : ''}</h2>
    <table aria-label="Queues">
      <thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Longest wait</th>${stats && html`<th class="num">Est. wait</th><th class="num">Offered</th><th class="num">Active</th>`}<th class="num">Available</th><th class="num">Busy</th><th class="num">Paused</th><th class="num">Wrap-up</th><th class="num">Offline</th></tr></thead>
      <tbody>
        ${(s.queues ?? []).map(
          (q) => html`<tr key=${q.queueId}>
            <th scope="row">${q.name}</th><td class="num">${q.waiting}</td><td class="num">${wait(q)}</td>
            ${stats && html`<td class="num">${typeof q.estimatedWaitSeconds === 'number' ? duration(q.estimatedWaitSeconds) : '—'}</td><td class="num">${q.offered ?? 0}</td><td class="num">${q.active ?? 0}</td>`}
            <td class="num">${q.agents.available}</td><td class="num">${q.agents.busy}</td><td class="num">${q.agents.paused}</td><td class="num">${q.agents.wrapUp}</td><td class="num">${q.agents.offline}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <h2>Agents</h2>
    <table aria-label="Agents">
      <thead><tr><th>Agent</th><th>State</th><th class="num">Conversations</th></tr></thead>
      <tbody>
        ${(s.agents ?? []).map(
          (a) => html`<tr key=${a.id}><th scope="row">${a.name}</th><td><span class=${`dot ${a.state}`} aria-hidden="true"></span> ${a.state}${a.pauseReason ? ` (${a.pauseReason})` : ''}</td><td class="num">${a.activeConversations} / ${a.maxConcurrent}</td></tr>`,
        )}
      </tbody>
    </table>
    <h2>Add an agent</h2>
    <${AddAgent} />
  </section>`;
}

function App() {
  const s = useStore(store);
  if (!s.session) return html`<${SignIn} error=${s.error} />`;
  const user = s.session.user;
  const selected = s.selected !== null ? s.entries.get(s.selected) : undefined;
  return html`<div class="console">
    <header class="topbar">
      <h1>${user.role === 'admin' ? 'Supervisor' : 'Agent console'}</h1>
      ${user.role === 'agent' && html`<${Presence} status=${s.status} reasons=${s.reasons} />`}
      <span class="who">${user.name ?? user.email}</span>
      <button type="button" onClick=${() => signOut()}>Sign out</button>
    </header>
    <div>
      ${s.connection === 'disconnected' && html`<div class="banner" role="status">Connection lost. Reconnecting…</div>`}
      ${s.error && html`<div class="banner error" role="alert">${s.error} <button type="button" onClick=${() => store.set({ error: null })}>Dismiss</button></div>`}
    </div>
    ${user.role === 'admin'
      ? html`<${Supervisor} s=${s} />`
      : html`<div class="workspace">
          <${ConversationList} s=${s} />
          ${selected ? html`<${ConversationPane} entry=${selected} myId=${user.id} />` : html`<section class="pane"><p class="empty">Select a conversation.</p></section>`}
        </div>`}
  </div>`;
}

try {
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
  if (saved?.token) start(saved);
} catch {
  sessionStorage.removeItem(SESSION_KEY);
}
render(html`<${App} />`, document.getElementById('app')!);
