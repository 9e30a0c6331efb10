/** Request/response over a forked child's IPC channel. */
import type { ChildProcess } from 'child_process';

interface Request {
  rpc: number;
  method: string;
  params: unknown;
}
interface Response {
  rpc: number;
  result?: unknown;
  error?: string;
}

/** Parent side: `await rpc.call('run', { rate: 1000 })`. */
export class ChildRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    readonly child: ChildProcess,
    private readonly name: string,
  ) {
    child.on('message', (message: Response) => {
      const waiter = this.pending.get(message.rpc);
      if (!waiter) return;
      this.pending.delete(message.rpc);
      if (message.error !== undefined) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`${name} exited (${signal ?? code})`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  call<T>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    const rpc = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new Error(`${this.name}: ${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rpc, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const request: Request = { rpc, method, params };
      this.child.send(request);
    });
  }
}

/** Each handler takes its own parameter type (`never` here accepts them all). */
export type RpcHandlers = Record<string, (params: never) => Promise<unknown>>;

/** Child side: answers the parent's calls; exits when the parent goes away. */
export function serveRpc(handlers: RpcHandlers): void {
  if (!process.send) throw new Error('serveRpc needs an IPC channel (start the script with fork)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (request: Request) => {
    const handler = handlers[request.method];
    let response: Response;
    try {
      if (!handler) throw new Error(`unknown method ${request.method}`);
      response = { rpc: request.rpc, result: await handler(request.params as never) };
    } catch (error) {
      response = { rpc: request.rpc, error: error instanceof Error ? error.message : String(error) };
    }
    process.send?.(response);
  });
}
