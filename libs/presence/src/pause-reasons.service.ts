import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Errors, paginated, Paginated, PaginationQuery } from '@cc/common';
import { isUniqueViolation } from '@cc/database';
import type { PauseReasonView } from '@cc/protocol';

export type { PauseReasonView } from '@cc/protocol';

/** Named reasons an agent pauses for. Id 0 is never a reason: it means "available" (unpause). */
@Injectable()
export class PauseReasonsService {
  constructor(private readonly dataSource: DataSource) {}

  async list(query: PaginationQuery): Promise<Paginated<PauseReasonView>> {
    const rows: (PauseReasonView & { total: number })[] = await this.dataSource.query(
      `SELECT id, name, count(*) OVER ()::int AS total FROM pause_reasons ORDER BY id LIMIT $1 OFFSET $2`,
      [query.limit, (query.page - 1) * query.limit],
    );
    const total = rows.length ? rows[0].total : await this.count();
    return paginated(rows.map(({ id, name }) => ({ id, name })), query.page, query.limit, total);
  }

  async create(name: string): Promise<PauseReasonView> {
    try {
      const [row]: PauseReasonView[] = await this.dataSource.query(`INSERT INTO pause_reasons (name) VALUES ($1) RETURNING id, name`, [name.trim()]);
      return row;
    } catch (err) {
      if (isUniqueViolation(err)) throw Errors.pauseReasonExists();
      throw err;
    }
  }

  private async count(): Promise<number> {
    const [row]: { n: number }[] = await this.dataSource.query(`SELECT count(*)::int AS n FROM pause_reasons`);
    return row.n;
  }
}
