import { DataSource } from 'typeorm';
import { createAgent, insertConversation } from './factories/agent.factory';
import { bearer, createTestApp, loginAdmin, TestApp } from './utils/create-test-app';

const API = '/api/v1';

/**
 * GET /agents answers JSON text built by PostgreSQL (AgentsRepository.pageJson); GET /agents/:id
 * answers `JSON.stringify` of the view built in TypeScript from parsed rows (toView). Both must give
 * the same bytes for every agent, whatever its fields and status: each page here is compared, byte
 * for byte, with the single reads of its agents put together.
 */
describe('GET /agents as JSON text (e2e)', () => {
  let t: TestApp;
  let admin: string;
  let db: DataSource;
  const marker = `jt${process.pid}x${Date.now().toString(36)}`;
  const ids: number[] = [];

  const presence = (agentId: number, set: string, params: unknown[] = []) =>
    db.query(`UPDATE agent_presence SET ${set} WHERE agent_id = $1`, [agentId, ...params]);

  beforeAll(async () => {
    t = await createTestApp();
    admin = await loginAdmin(t);
    db = t.app.get(DataSource);
    const email = (n: number) => `${marker}-${n}@example.com`;
    const agent = async (n: number, overrides: Record<string, unknown> = {}) => {
      const a = await createAgent(t, admin, { email: email(n), ...overrides });
      ids.push(a.id);
      return a.id;
    };
    // 1: the defaults, offline, no conversation.
    await agent(1);
    // 2: every optional field, text that JSON must escape, channel caps whose keys JavaScript reorders.
    await agent(2, {
      name: 'Ann "the \\ one"\n\t\u0001\u001f é 😀 \u2028 </script>',
      number: '000123',
      skills: ['web', 'wa', 'x-1'],
      maxConcurrent: 7,
      channelCapacity: { web: 2, '10': 1, '9': 3, a: 0, '01': 4, '4294967295': 5 },
      wrapUpSeconds: 45,
      manualStatus: 'on "site"',
      routingType: 'phone',
      phoneNumber: '+15550100',
    });
    // 3: logged in with an extension and a context, with conversations of three channels (one active of each, one resolved).
    const logged = await agent(3, { maxConcurrent: 5 });
    await presence(logged, `logged = true, extension = 'ext "7"', context = 'ctx'`);
    for (const channel of ['web', '2', 'wa']) {
      const id = await insertConversation(t, logged, 'active');
      await db.query(`UPDATE conversations SET channel = $2 WHERE id = $1`, [id, channel]);
    }
    await insertConversation(t, logged, 'resolved');
    // 4: paused with a reason; 5: paused without a reason; 6: paused but logged out (neither counts).
    const [{ id: reasonId }] = await db.query(`INSERT INTO pause_reasons (name) VALUES ($1) RETURNING id`, [`lunch "${marker}"`]);
    await presence(await agent(4), `logged = true, paused = true, pause_reason_id = $2`, [reasonId]);
    await presence(await agent(5), `logged = true, paused = true`);
    await presence(await agent(6), `logged = false, paused = true, pause_reason_id = $2, extension = 'gone'`, [reasonId]);
    // 7: in wrap-up (microseconds in the timestamp); 8: a wrap-up that has ended; 9: a wrap-up while logged out.
    await presence(await agent(7), `logged = true, wrap_up_until = now() + interval '1 hour 0.123456 seconds'`);
    await presence(await agent(8), `logged = true, wrap_up_until = now() - interval '1 second'`);
    await presence(await agent(9), `logged = false, wrap_up_until = now() + interval '1 hour'`);
    // 10: busy (its active conversations fill its capacity), the latest conversation resolved after them.
    const busy = await agent(10, { maxConcurrent: 2 });
    await presence(busy, `logged = true`);
    await insertConversation(t, busy, 'active');
    await insertConversation(t, busy, 'active');
    await insertConversation(t, busy, 'resolved');
    // 11: an agent created by SQL, without a presence row or queues.
    const [{ id: bare }] = await db.query(
      `INSERT INTO agents (email, name, password_hash, skills, max_concurrent, wrap_up_seconds, routing_type, channel_capacity, token_version)
       VALUES ($1, 'Bare', 'x', '{}', 1, 0, 'app', '{}', 0) RETURNING id`,
      [email(11)],
    );
    ids.push(bare);
  });
  afterAll(() => t.close());

  /** The page, as GET /agents/:id reads of `pageIds` and `meta` would make it. */
  const expected = async (pageIds: number[], meta: Record<string, number>) => {
    const texts: string[] = [];
    for (const id of pageIds) texts.push((await t.http.get(`${API}/agents/${id}`).set(bearer(admin)).expect(200)).text);
    return `{"data":[${texts.join(',')}],"meta":${JSON.stringify(meta)}}`;
  };

  const list = async (query: string) => {
    const res = await t.http.get(`${API}/agents?${query}`).set(bearer(admin)).expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.etag).toEqual(expect.any(String));
    return res.text;
  };

  it('answers each page byte for byte as the single reads of its agents', async () => {
    const q = encodeURIComponent(marker);
    expect(await list(`q=${q}&limit=100`)).toBe(await expected(ids, { page: 1, limit: 100, total: 11, totalPages: 1 }));
    expect(await list(`q=${q}&limit=4&page=2`)).toBe(await expected(ids.slice(4, 8), { page: 2, limit: 4, total: 11, totalPages: 3 }));
    expect(await list(`q=${q}&limit=4&page=3`)).toBe(await expected(ids.slice(8), { page: 3, limit: 4, total: 11, totalPages: 3 }));
  });

  it('answers the filters by state and skill as the single reads of the agents they match', async () => {
    const q = encodeURIComponent(marker);
    const cases: [string, number[]][] = [
      ['state=paused', [ids[3], ids[4]]],
      ['state=wrap-up', [ids[6]]],
      ['state=busy', [ids[9]]],
      ['state=available', [ids[2], ids[7]]],
      ['state=offline', [ids[0], ids[1], ids[5], ids[8], ids[10]]],
      // Agents without skills serve every channel.
      ['skill=WA', ids],
      ['skill=sms', ids.filter((id) => id !== ids[1])],
    ];
    for (const [filter, matched] of cases) {
      expect(await list(`q=${q}&${filter}&limit=100`)).toBe(await expected(matched, { page: 1, limit: 100, total: matched.length, totalPages: 1 }));
    }
  });

  it('answers an empty page past the last one, and a query that matches nothing, with the count of matches', async () => {
    const q = encodeURIComponent(marker);
    expect(await list(`q=${q}&limit=10&page=5`)).toBe('{"data":[],"meta":{"page":5,"limit":10,"total":11,"totalPages":2}}');
    expect(await list(`q=${encodeURIComponent(`${marker}%_\\none`)}`)).toBe('{"data":[],"meta":{"page":1,"limit":20,"total":0,"totalPages":0}}');
  });
});
