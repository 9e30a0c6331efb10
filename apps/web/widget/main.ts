import { html, render } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, ConnectionState, ConversationView, CustomerClient, MessageView, RestClient } from '@cc/client';
import { clock, duration, errorText, safeStorage, Store, typingNotifier, useStore, withMessage } from '../shared/store';
import '../shared/base.css';
import './widget.css';

/** What survives a reload: the session token (and the names we were told), in localStorage. */
const SESSION_KEY = 'cc.widget.session';
const localStorage = safeStorage('local');
const AGENT_NAMES_KEY = 'cc.widget.agents';

interface Saved {
  token: string;
  customerId: number;
  name: string;
}

interface State {
  phase: 'start' | 'connecting' | 'chat';
  name: string;
  conversation: ConversationView | null;
  agentName: string | null;
  messages: MessageView[];
  agentTyping: boolean;
  ended: boolean;
  connection: ConnectionState | null;
  error: string | null;
}

const store = new Store<State>({ phase: 'start', name: '', conversation: null, agentName: null, messages: [], agentTyping: false, ended: false, connection: null, error: null });
let client: CustomerClient | null = null;
let startWanted = false;

const load = <T,>(key: string): T | null => {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
  } catch {
    return null;
  }
};
const agentNames = (): Record<string, string> => load<Record<string, string>>(AGENT_NAMES_KEY) ?? {};

function connect(saved: Saved): void {
  client?.close();
  const c = new CustomerClient({ token: saved.token });
  client = c;
  store.set({ phase: 'connecting', name: saved.name, error: null });
  c.on('connection', ({ state }) => {
    store.set({ connection: state });
    if (state === 'unauthorized') {
      // The session is gone (logged out or expired): start over.
      localStorage.removeItem(SESSION_KEY);
      c.close();
      store.set({ phase: 'start', conversation: null, messages: [], error: 'Your session has expired. Please start again.' });
    }
  });
  c.on('ready', async ({ conversations }) => {
    const open = conversations[0] ?? null;
    if (open) return show(open);
    if (store.state.conversation && !store.state.ended) {
      // Ended while we were away.
      store.set({ ended: true, agentTyping: false });
      return;
    }
    if (startWanted) {
      startWanted = false;
      try {
        show(await c.start({ channel: 'web' }));
      } catch (err) {
        if (err instanceof ApiError && typeof err.body.conversationId === 'number') return;
        store.set({ phase: 'start', error: errorText(err) });
      }
    } else if (store.state.phase === 'connecting') {
      store.set({ phase: 'start' });
    }
  });
  c.on('conversation.queued', ({ conversation }) => sameConversation(conversation) && store.set({ conversation }));
  c.on('conversation.assigned', ({ conversation, agent }) => {
    if (!sameConversation(conversation)) return;
    localStorage.setItem(AGENT_NAMES_KEY, JSON.stringify({ ...agentNames(), [conversation.id]: agent.name }));
    store.set({ conversation, agentName: agent.name });
  });
  c.on('conversation.transferred', ({ conversation }) => sameConversation(conversation) && store.set({ conversation, agentName: conversation.agentId ? agentNames()[conversation.id] ?? null : null }));
  c.on('conversation.resolved', ({ conversation }) => sameConversation(conversation) && store.set({ conversation, ended: true, agentTyping: false }));
  c.on('message.new', ({ message }) => {
    if (message.conversationId !== store.state.conversation?.id) return;
    store.set((s) => ({ messages: withMessage(s.messages, message), agentTyping: message.senderType === 'agent' ? false : s.agentTyping }));
  });
  c.on('typing', ({ conversationId, typing }) => conversationId === store.state.conversation?.id && store.set({ agentTyping: typing }));
}

function sameConversation(c: ConversationView): boolean {
  return store.state.conversation?.id === c.id;
}

function show(conversation: ConversationView): void {
  const switching = store.state.conversation?.id !== conversation.id;
  store.set({
    phase: 'chat',
    conversation,
    ended: conversation.status === 'resolved',
    agentName: agentNames()[conversation.id] ?? store.state.agentName,
    ...(switching ? { messages: [], agentTyping: false } : {}),
  });
  // The SDK follows this conversation and emits its whole history once, then every new message.
  void client?.follow(conversation.id);
}

async function startChat(name: string): Promise<void> {
  store.set({ error: null, phase: 'connecting' });
  try {
    const saved = load<Saved>(SESSION_KEY);
    if (saved && saved.name === name && client && client.state !== 'unauthorized') {
      startWanted = false;
      show(await client.start({ channel: 'web' }));
      return;
    }
    const session = await new RestClient().customerSession({ name });
    const fresh: Saved = { token: session.accessToken, customerId: session.customer.id, name };
    localStorage.setItem(SESSION_KEY, JSON.stringify(fresh));
    startWanted = true;
    store.set({ conversation: null, messages: [], ended: false, agentName: null });
    connect(fresh);
  } catch (err) {
    store.set({ phase: 'start', error: errorText(err) });
  }
}

async function endChat(): Promise<void> {
  const id = store.state.conversation?.id;
  if (!id || !client) return;
  try {
    const conversation = await client.resolve(id);
    store.set({ conversation, ended: true, agentTyping: false });
  } catch (err) {
    store.set({ error: errorText(err) });
  }
}

function StartForm({ name, error }: { name: string; error: string | null }) {
  const [value, setValue] = useState(name);
  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim()) void startChat(value.trim());
  };
  return html`<form class="start" onSubmit=${submit}>
    <p>Hello! Tell us your name and we will connect you with the next free agent.</p>
    <label>Your name<input name="name" autocomplete="name" required maxlength="200" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} /></label>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button class="primary" type="submit">Start chat</button>
  </form>`;
}

function Chat({ s }: { s: State }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const logRef = useRef<HTMLOListElement>(null);
  const conversation = s.conversation!;
  const typing = useRef(typingNotifier((on) => client?.typing(conversation.id, on)));
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [s.messages.length, s.agentTyping]);

  const send = async (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body || !client) return;
    typing.current.stop();
    setText('');
    setSending(true);
    try {
      const sent = await client.send(conversation.id, body);
      if (sent.conversationId === store.state.conversation?.id) store.set((st) => ({ messages: withMessage(st.messages, sent) }));
    } catch (err) {
      setText(body);
      store.set({ error: errorText(err) });
    } finally {
      setSending(false);
    }
  };
  const waiting = conversation.status === 'queued' && !s.ended;
  const offered = conversation.status === 'offered' && !s.ended;
  const estimate = conversation.estimatedWaitSeconds;
  return html`
    ${waiting &&
    html`<div class="waiting" role="status">
      <strong>Position ${conversation.position ?? '…'}</strong> in line.
      ${typeof estimate === 'number' ? html` Estimated wait: about ${duration(estimate)}.` : ' An agent will be with you shortly.'}
    </div>`}
    ${offered && html`<div class="waiting" role="status">An agent is about to answer…</div>`}
    ${conversation.status === 'active' && !s.ended && html`<div class="agent" role="status">You are chatting with <strong>${s.agentName ?? 'an agent'}</strong>.</div>`}
    <ol class="log" role="log" aria-label="Messages" aria-live="polite" ref=${logRef}>
      ${s.messages.map(
        (m) => html`<li key=${m.id} class=${`msg ${m.senderType === 'customer' ? 'mine' : m.senderType}`}>
          <span class="meta">${m.senderType === 'customer' ? 'You' : m.senderType === 'agent' ? (s.agentName ?? 'Agent') : 'Notice'} · ${clock(m.createdAt)}</span>${m.text}
        </li>`,
      )}
    </ol>
    <div class="typing" aria-live="polite">${s.agentTyping && !s.ended ? `${s.agentName ?? 'The agent'} is typing…` : ''}</div>
    ${s.error && html`<p class="error" role="alert" style="padding: 0 14px">${s.error}</p>`}
    ${s.ended
      ? html`<div class="ended" role="status"><span>This chat has ended. Thank you!</span><button class="primary" type="button" onClick=${() => void startChat(s.name)}>Start a new chat</button></div>`
      : html`<form class="composer" onSubmit=${send}>
          <label class="sr-only" for="message">Message</label>
          <input id="message" name="message" autocomplete="off" maxlength="4000" placeholder="Type a message…" value=${text}
            onInput=${(e: Event) => (setText((e.target as HTMLInputElement).value), typing.current.input())} />
          <button class="primary" type="submit" disabled=${sending || !text.trim()}>Send</button>
        </form>`}
  `;
}

function App() {
  const s = useStore(store);
  const inChat = s.phase === 'chat' && s.conversation;
  return html`<main class="widget">
    <header>
      <h1>Chat with us</h1>
      ${inChat && !s.ended && html`<button type="button" onClick=${() => void endChat()}>End chat</button>`}
    </header>
    ${s.connection === 'disconnected' && s.phase !== 'start' && html`<div class="banner" role="status">Connection lost. Reconnecting…</div>`}
    ${s.phase === 'start' && html`<${StartForm} name=${s.name} error=${s.error} />`}
    ${s.phase === 'connecting' && html`<p class="start muted" role="status">Connecting…</p>`}
    ${inChat && html`<${Chat} s=${s} />`}
  </main>`;
}

const saved = load<Saved>(SESSION_KEY);
if (saved?.token) connect(saved);
render(html`<${App} />`, document.getElementById('app')!);
