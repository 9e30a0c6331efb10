import Ajv from 'ajv';
import { MAX_ID } from '@cc/common';
import type { SendMessagePayload } from './socket.dto';

// Plain text only: at least one character the DTO's @Length counts (validator.js does not count
// U+FE0E/U+FE0F variation selectors; the schema's minLength would), and no U+0000 or unpaired
// surrogate (the shared input rules refuse those; here they simply leave the fast path).
const PLAIN_TEXT = '^(?=[\\s\\S]*[^\\uFE0E\\uFE0F])[^\\u0000\\uD800-\\uDFFF]*$';

/**
 * The payloads of `message.send` that SendMessagePayload certainly accepts, as a compiled JSON
 * schema. It may refuse more than the DTO (then the DTO decides, with its own messages); it
 * must never accept what the DTO refuses: send-message.schema.spec.ts checks both on a corpus.
 */
export const SEND_MESSAGE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['conversationId', 'text'],
  properties: {
    conversationId: { type: 'integer', minimum: 1, maximum: MAX_ID },
    text: { type: 'string', minLength: 1, maxLength: 4000, pattern: PLAIN_TEXT },
    clientMessageId: { type: 'string', minLength: 1, maxLength: 64, pattern: PLAIN_TEXT },
  },
} as const;

const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });

/** True when the payload is a plain valid `message.send` (no transformation needed, nothing to report). */
export const isPlainSendMessage = ajv.compile<SendMessagePayload>(SEND_MESSAGE_SCHEMA);
