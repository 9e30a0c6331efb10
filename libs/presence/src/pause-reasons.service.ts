import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Errors, paginated, Paginated, PaginationQuery } from '@cc/common';
import { isUniqueViolation } from '@cc/database';
import { PauseReasonsRepository } from './pause-reasons.repository';

export interface PauseReasonView {
  id: number;
  name: string;
}

/** Named reasons an agent pauses for. Id 0 is never a reason: it means "available" (unpause). */
@Injectable()
export class PauseReasonsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: PauseReasonsRepository,
  ) {}

  async list(query: PaginationQuery): Promise<Paginated<PauseReasonView>> {
    const rows = await this.repo.page(this.dataSource.manager, query.limit, (query.page - 1) * query.limit);
    const total = rows.length ? rows[0].total : await this.repo.count(this.dataSource.manager);
    return paginated(rows.map(({ id, name }) => ({ id, name })), query.page, query.limit, total);
  }

  async create(name: string): Promise<PauseReasonView> {
    try {
      return await this.repo.create(this.dataSource.manager, name.trim());
    } catch (err) {
      if (isUniqueViolation(err)) throw Errors.pauseReasonExists();
      throw err;
    }
  }
}
