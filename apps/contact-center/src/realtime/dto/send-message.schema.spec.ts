import { socketValidationPipe } from '../ws-ack';
import { isPlainSendMessage } from './send-message.schema';
import { SendMessagePayload } from './socket.dto';

const pipe = socketValidationPipe();
const dtoAccepts = (payload: unknown) =>
  pipe.transform(payload, { type: 'body', metatype: SendMessagePayload }).then(
    () => true,
    () => false,
  );

const long = (n: number, c = 'x') => c.repeat(n);

/** Payloads around every rule of SendMessagePayload: types, bounds, unknown fields, odd strings. */
const CORPUS: unknown[] = [
  undefined,
  null,
  42,
  'text',
  [],
  [{ conversationId: 1, text: 'hi' }],
  {},
  { conversationId: 1 },
  { text: 'hi' },
  { conversationId: 1, text: 'hi' },
  { conversationId: 1, text: 'hi', clientMessageId: 'c-1' },
  { conversationId: 1, text: 'hi', clientMessageId: undefined },
  { conversationId: 1, text: 'hi', clientMessageId: null },
  { conversationId: 1, text: 'hi', clientMessageId: '' },
  { conversationId: 1, text: 'hi', clientMessageId: long(64) },
  { conversationId: 1, text: 'hi', clientMessageId: long(65) },
  { conversationId: 1, text: 'hi', clientMessageId: 7 },
  { conversationId: 1, text: '' },
  { conversationId: 1, text: ' ' },
  { conversationId: 1, text: long(4000) },
  { conversationId: 1, text: long(4001) },
  { conversationId: 1, text: long(2000, '😀') },
  { conversationId: 1, text: long(4001, '😀') },
  { conversationId: 1, text: '\uFE0F' },
  { conversationId: 1, text: '\uFE0E\uFE0F' },
  { conversationId: 1, text: 'a\uFE0F' },
  { conversationId: 1, text: long(3999) + '\uFE0F' },
  { conversationId: 1, text: 'line\nbreak\ttab' },
  { conversationId: 1, text: 'nul \u0000 char' },
  { conversationId: 1, text: 'lone surrogate \uD800' },
  { conversationId: 1, text: 5 },
  { conversationId: 1, text: ['hi'] },
  { conversationId: 1, text: { toString: 'hi' } },
  { conversationId: 0, text: 'hi' },
  { conversationId: -1, text: 'hi' },
  { conversationId: -0, text: 'hi' },
  { conversationId: 1.5, text: 'hi' },
  { conversationId: '1', text: 'hi' },
  { conversationId: 2_147_483_647, text: 'hi' },
  { conversationId: 2_147_483_648, text: 'hi' },
  { conversationId: 1e300, text: 'hi' },
  { conversationId: Number.NaN, text: 'hi' },
  { conversationId: Number.POSITIVE_INFINITY, text: 'hi' },
  { conversationId: true, text: 'hi' },
  { conversationId: 1, text: 'hi', extra: 1 },
  { conversationId: 1, text: 'hi', __proto__: { polluted: true } },
  { conversationId: 1, text: 'hi', constructor: 'x' },
];

describe('isPlainSendMessage (the compiled schema of the message.send fast path)', () => {
  it.each(CORPUS.map((p, i) => [i, p]))('never accepts what SendMessagePayload refuses (#%i)', async (_i, payload) => {
    if (isPlainSendMessage(payload)) expect(await dtoAccepts(payload)).toBe(true);
  });

  it('accepts the ordinary sends, so they take the fast path', () => {
    expect(isPlainSendMessage({ conversationId: 17, text: 'Hello, I need help' })).toBe(true);
    expect(isPlainSendMessage({ conversationId: 17, text: 'ok', clientMessageId: 'widget-1' })).toBe(true);
    expect(isPlainSendMessage({ conversationId: 17, text: long(2000, '😀') })).toBe(true);
    expect(isPlainSendMessage({ conversationId: 17, text: 'two\nlines, a tab\t, an emoji 👍🏽 and é' })).toBe(true);
  });

  it('leaves the refusals to the DTO (so the messages are the DTO\'s)', () => {
    for (const p of [
      { conversationId: 1 },
      { conversationId: 1, text: '' },
      { conversationId: 1, text: '\uFE0F' },
      { conversationId: 1, text: 'hi', extra: 1 },
      { conversationId: '1', text: 'hi' },
      { conversationId: 1, text: 'nul \u0000 char' },
      { conversationId: 1, text: 'lone surrogate \uD800' },
      { conversationId: 1, text: 'hi', clientMessageId: 'id\uDC00' },
    ]) {
      expect(isPlainSendMessage(p)).toBe(false);
    }
  });
});
