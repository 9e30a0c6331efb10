import { useEffect, useState } from 'preact/hooks';

/** A tiny observable state holder: pages keep their state in one, components re-render on change. */
export class Store<T extends object> {
  private listeners = new Set<() => void>();

  constructor(public state: T) {}

  set(patch: Partial<T> | ((s: T) => Partial<T>)): void {
    const next = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...next };
    for (const l of [...this.listeners]) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useStore<T extends object>(store: Store<T>): T {
  const [, force] = useState(0);
  useEffect(() => store.subscribe(() => force((n) => n + 1)), [store]);
  return store.state;
}

/** "3 min", "45 s", "1 h 5 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Calls `fn(true)` on input and `fn(false)` after `idleMs` without input (typing indicators). */
export function typingNotifier(fn: (typing: boolean) => void, idleMs = 2500): { input(): void; stop(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let on = false;
  return {
    input() {
      if (!on) fn((on = true));
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => this.stop(), idleMs);
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (on) fn((on = false));
    },
  };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * localStorage (or sessionStorage) when the browser allows it, else memory: a third-party iframe
 * (the embedded widget) may be refused storage, and must still work (without surviving a reload).
 */
export function safeStorage(kind: 'local' | 'session'): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  try {
    const storage = kind === 'local' ? window.localStorage : window.sessionStorage;
    const probe = '__cc_probe__';
    storage.setItem(probe, '1');
    storage.removeItem(probe);
    return storage;
  } catch {
    const memory = new Map<string, string>();
    return {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => void memory.set(k, String(v)),
      removeItem: (k) => void memory.delete(k),
    };
  }
}

/**
 * The list with `message` in it once, in id order. A sender's own socket may or may not get its
 * message back as `message.new` (API.md): the sender adds it from the ack, and either copy is kept once.
 */
export function withMessage<M extends { id: number }>(messages: M[], message: M): M[] {
  if (messages.some((m) => m.id === message.id)) return messages;
  const at = messages.findIndex((m) => m.id > message.id);
  return at < 0 ? [...messages, message] : [...messages.slice(0, at), message, ...messages.slice(at)];
}
