/**
 * A random id for `clientMessageId`. `crypto.randomUUID` exists only in secure contexts
 * (https, localhost); `getRandomValues` everywhere (browsers and Node 20).
 */
export function randomId(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
