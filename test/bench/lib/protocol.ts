/** What run.ts and its load-generating children say to each other (over IPC, see rpc.ts). */
import type { Percentiles } from './stats';

/** One customer socket: its token, its conversation, and which agent socket must receive its messages. */
export interface CustomerSpec {
  token: string;
  conversationId: number;
  agentIndex: number;
  /** The instance this customer connects to, when not `GeneratorInit.url` (several instances). */
  url?: string;
}

export interface GeneratorInit {
  url: string;
  customers: CustomerSpec[];
  /** Agent tokens; `CustomerSpec.agentIndex` points into this list. */
  agents: string[];
  /** The instance each agent connects to, when not `url`. */
  agentUrls?: string[];
  connectConcurrency?: number;
}

export interface ConnectReport {
  sockets: number;
  connected: number;
  failures: number;
  errors: Record<string, number>;
  ms: number;
}

export interface RunParams {
  /** Total messages per second over all customers. */
  rate: number;
  durationS: number;
  /** How long to wait after the last send for missing acks and deliveries. */
  drainS: number;
  /** Text length in characters (the send timestamp and sequence are embedded at its start). */
  textLength?: number;
  /**
   * Stop sending early once more than this many seconds' worth of messages (at `rate`) wait for
   * their ack: the server is not keeping up, and a bigger backlog only makes the next step wait.
   */
  abortBacklogS?: number;
}

export interface LoadResult {
  rate: number;
  durationS: number;
  sent: number;
  /** Messages per second actually sent (below `rate` when the generator fell behind). */
  sendRate: number;
  acked: number;
  ackErrors: number;
  ackErrorSamples: Record<string, number>;
  delivered: number;
  /** Delivered messages per second, first send to last delivery. */
  deliveredRate: number;
  lost: number;
  duplicated: number;
  /** Delivered to an agent socket that is not the conversation's agent, or with the wrong conversation id. */
  misrouted: number;
  e2e: Percentiles;
  ack: Percentiles;
  /** How late the generator sent, worst case (a large value means the generator was the bottleneck). */
  maxSendLagMs: number;
  /** Sending stopped early because the backlog exceeded `abortBacklogS`. */
  aborted: boolean;
  generatorCpuMs: number;
  disconnects: number;
}

export interface HolderSocket {
  namespace: '/agent' | '/customer';
  token: string;
}

export interface HolderInit {
  url: string;
  sockets: HolderSocket[];
  concurrency: number;
  /** Sockets not yet started after this long count as failures (keeps the phase bounded). */
  timeLimitMs: number;
}
