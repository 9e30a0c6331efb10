import { DataSource } from 'typeorm';
import { AppConfig, SYSTEM_ACTOR } from '@cc/common';
import { ConversationsRepository, StartedRow, StartRequest } from './conversations.repository';
import { StartWriter } from './start-writer';

describe('StartWriter', () => {
  const request = (customerId: number): StartRequest => ({ customerId, text: null, channel: 'web', queueId: null, actor: SYSTEM_ACTOR });

  function writer(statements: number[][], delayMs = 5) {
    const repo = {
      startBatch: async (_manager: unknown, requests: StartRequest[]) => {
        statements.push(requests.map((r) => r.customerId));
        await new Promise((r) => setTimeout(r, delayMs));
        return requests.map((r) => ({ id: r.customerId * 10 }) as unknown as StartedRow);
      },
    } as unknown as ConversationsRepository;
    return new StartWriter({ manager: {} } as unknown as DataSource, repo, { maxPendingWrites: 100 } as AppConfig);
  }

  it('stores the starts of one turn of the event loop on an idle writer in one statement', async () => {
    const statements: number[][] = [];
    const starts = writer(statements);
    const rows = await Promise.all([1, 2, 3, 4, 5].map((id) => starts.start(request(id))));
    expect(rows.map((r) => r?.id)).toEqual([10, 20, 30, 40, 50]);
    expect(statements).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('while a batch is stored, later starts join the next one', async () => {
    const statements: number[][] = [];
    const starts = writer(statements, 20);
    const first = starts.start(request(1));
    // Until the first statement has started (a fixed sleep raced the end of the turn on a loaded machine).
    while (!statements.length) await new Promise((r) => setImmediate(r));
    const later = [2, 3].map((id) => starts.start(request(id)));
    expect((await Promise.all([first, ...later])).map((r) => r?.id)).toEqual([10, 20, 30]);
    expect(statements).toEqual([[1], [2, 3]]);
  });
});
