import { createHmac } from 'crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';

export interface ReceivedCall {
  headers: IncomingMessage['headers'];
  raw: string;
  body: any;
  at: number;
}

/** What to answer a call: a status, or `hang` (never answer). */
export type Answer = number | 'hang';

/** A local HTTP server that records every event-webhook call and answers as the test says. */
export class WebhookReceiver {
  readonly calls: ReceivedCall[] = [];
  private answer: (call: ReceivedCall) => Answer = () => 200;
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver;
    const server = createServer((req, res) => receiver.handle(req, res));
    receiver = new WebhookReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  answerWith(answer: (call: ReceivedCall) => Answer): void {
    this.answer = answer;
  }

  /** Calls answered 2xx, in arrival order. */
  delivered(): ReceivedCall[] {
    return this.calls.filter((c) => (c as ReceivedCall & { status?: Answer }).status !== undefined && Number((c as any).status) < 300);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const call: ReceivedCall & { status?: Answer } = { headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() };
      this.calls.push(call);
      const answer = this.answer(call);
      call.status = answer;
      if (answer === 'hang') {
        this.hanging.add(res);
        return;
      }
      res.writeHead(answer, { 'Content-Type': 'application/json' }).end('{}');
    });
  }
}

/** True when the call carries a valid X-Webhook-Signature for `secret`. */
export function signatureValid(call: ReceivedCall, secret: string): boolean {
  const timestamp = call.headers['x-webhook-timestamp'];
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${call.raw}`).digest('hex');
  return call.headers['x-webhook-signature'] === expected;
}
