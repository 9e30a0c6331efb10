import { createHmac } from 'crypto';
import { webhookSignature } from './signature';

describe('webhookSignature', () => {
  it('is the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'whsec').update('1700000000.{"a":1}').digest('hex');
    expect(webhookSignature('whsec', 1700000000, '{"a":1}')).toBe(`sha256=${expected}`);
  });

  it('changes with the timestamp (no replay under a new timestamp)', () => {
    expect(webhookSignature('s', 1, 'b')).not.toBe(webhookSignature('s', 2, 'b'));
  });
});
