import { DataSource } from 'typeorm';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { readInPages } from '@cc/database';
import { describeWith } from './utils/requires';
import { createTestDatabase, dropTestDatabase } from './utils/test-db';

/*
 * readInPages (libs/database/src/sql.ts): a long read fetched through a cursor, a page per round
 * trip, so the event loop turns between pages (the waiting line's position pushes read 10,000
 * rows this way) and the rows are those of one plain read.
 */
describeWith(['postgres'], 'Reads in pages (e2e)', () => {
  let url: string;
  let dataSource: DataSource;
  const read = (n: number) => `SELECT g AS n, 'row ' || g AS label FROM generate_series(1, ${n}) g WHERE g > $1 ORDER BY g`;

  beforeAll(async () => {
    url = await createTestDatabase();
    dataSource = await new DataSource({ type: 'postgres', url, extra: { max: 2 } }).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    if (url) await dropTestDatabase(url);
  });

  it.each([0, 1, 9, 10, 11, 25])('answers the rows of one plain read, in order, for %i rows in pages of 10', async (n) => {
    const plain = await dataSource.query(read(n), [0]);
    expect(plain).toHaveLength(n);
    expect(await readInPages(dataSource.manager, read(n), [0], 10)).toEqual(plain);
  });

  it('passes the parameters to the cursor', async () => {
    expect((await readInPages<{ n: number }>(dataSource.manager, read(30), [27], 2)).map((r) => r.n)).toEqual([28, 29, 30]);
  });

  it('fetches a page per statement (each parsed in its own socket callback, the event loop turning between them)', async () => {
    const statements: string[] = [];
    const original = PostgresQueryRunner.prototype.query;
    const counting = jest.spyOn(PostgresQueryRunner.prototype, 'query').mockImplementation(function (this: PostgresQueryRunner, ...args: Parameters<PostgresQueryRunner['query']>) {
      statements.push(args[0]);
      return original.apply(this, args);
    });
    try {
      expect(await readInPages(dataSource.manager, read(25), [0], 10)).toHaveLength(25);
    } finally {
      counting.mockRestore();
    }
    // 10 + 10 + 5: the short page ends the read.
    expect(statements.filter((s) => s.startsWith('FETCH 10 '))).toHaveLength(3);
    expect(statements.filter((s) => s.startsWith('DECLARE '))).toHaveLength(1);
  });

  it("reads in the caller's transaction (its own writes included) and closes its cursor there", async () => {
    await dataSource.transaction(async (manager) => {
      await manager.query(`CREATE TEMP TABLE paged_rows ON COMMIT DROP AS SELECT g AS n FROM generate_series(1, 5) g`);
      await manager.query(`INSERT INTO paged_rows VALUES (6)`);
      const sql = `SELECT n FROM paged_rows WHERE n > $1 ORDER BY n`;
      expect((await readInPages<{ n: number }>(manager, sql, [0], 4)).map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6]);
      // The same cursor name again in this transaction: the first one was closed.
      expect((await readInPages<{ n: number }>(manager, sql, [4], 4)).map((r) => r.n)).toEqual([5, 6]);
    });
  });

  it('refuses a page size below one', async () => {
    await expect(readInPages(dataSource.manager, read(1), [0], 0)).rejects.toThrow(RangeError);
  });
});
