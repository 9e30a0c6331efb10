import { DataSource } from 'typeorm';
import { isoTextSql } from '@cc/database';
import { MessagesRepository, WriteRequest } from '@cc/conversations';
import { ContactCenter } from './factories/contact-center.factory';
import { createTestApp, loginAdmin, TestApp } from './utils/create-test-app';

/*
 * The message statement records a conversation's first response (API.md 13): the first agent
 * message after its first assignment, judged on the conversation rows the batch has locked.
 */
describe('First response recorded by the message batch (e2e)', () => {
  let t: TestApp;
  let cc: ContactCenter;

  beforeAll(async () => {
    t = await createTestApp();
    cc = new ContactCenter(t, await loginAdmin(t));
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A conversation assigned to an agent alone in a fresh queue. */
  async function assigned(): Promise<{ conversationId: number; agentId: number; customerId: number }> {
    const queue = await cc.queue();
    const agent = await cc.agent({ queueIds: [queue.id] });
    const { conversation, customer } = await cc.start({ queueId: queue.id });
    expect(conversation).toMatchObject({ status: 'active', agentId: agent.id });
    return { conversationId: conversation.id, agentId: agent.id, customerId: customer.id };
  }

  const fromAgent = (c: { conversationId: number; agentId: number }, text: string): WriteRequest => ({
    conversationId: c.conversationId,
    role: 'agent',
    senderId: c.agentId,
    text,
    clientMessageId: null,
    actor: { type: 'agent', id: c.agentId },
  });
  const fromCustomer = (c: { conversationId: number; customerId: number }, text: string): WriteRequest => ({
    conversationId: c.conversationId,
    role: 'customer',
    senderId: c.customerId,
    text,
    clientMessageId: null,
    actor: { type: 'customer', id: c.customerId },
  });

  async function firstResponse(conversationId: number): Promise<{ at: string | null; agentId: number | null }> {
    const [row] = await t.app.get(DataSource).query(
      `SELECT ${isoTextSql('first_response_at')} AS at, first_response_agent_id AS "agentId" FROM conversations WHERE id = $1`,
      [conversationId],
    );
    return row;
  }

  it('sets it from the first agent message of each unanswered conversation in a batch, leaves answered ones and customer messages alone', async () => {
    const repo = t.app.get(MessagesRepository);
    const [fresh, answered, customerOnly] = await Promise.all([assigned(), assigned(), assigned()]);

    const [earlier] = await repo.insertBatch([fromAgent(answered, 'answered before')]);
    const before = await firstResponse(answered.conversationId);
    expect(before).toEqual({ at: earlier!.created_at, agentId: answered.agentId });

    const stored = await repo.insertBatch([
      fromCustomer(fresh, 'hello'),
      fromCustomer(customerOnly, 'anyone?'),
      fromAgent(fresh, 'hi, how can I help?'),
      fromAgent(answered, 'again'),
      fromAgent(fresh, 'still here'),
    ]);
    expect(stored.every((row) => row !== null)).toBe(true);

    expect(await firstResponse(fresh.conversationId)).toEqual({ at: stored[2]!.created_at, agentId: fresh.agentId });
    expect(await firstResponse(answered.conversationId)).toEqual(before);
    expect(await firstResponse(customerOnly.conversationId)).toEqual({ at: null, agentId: null });
  });

  it('is not set by a message the statement refuses (an agent that is not the conversation’s)', async () => {
    const repo = t.app.get(MessagesRepository);
    const [mine, other] = await Promise.all([assigned(), assigned()]);
    const [refused] = await repo.insertBatch([fromAgent({ conversationId: mine.conversationId, agentId: other.agentId }, 'not yours')]);
    expect(refused).toBeNull();
    expect(await firstResponse(mine.conversationId)).toEqual({ at: null, agentId: null });
  });
});
