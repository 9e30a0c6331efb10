import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

/** A `pause_reasons` row; the one row type of the table. */
export interface PauseReasonRow {
  id: number;
  name: string;
}

/** Every SQL statement on `pause_reasons`. */
@Injectable()
export class PauseReasonsRepository {
  /** A page, with the number of all reasons (carried by each row). */
  page(manager: EntityManager, limit: number, offset: number): Promise<(PauseReasonRow & { total: number })[]> {
    return manager.query(`SELECT id, name, count(*) OVER ()::int AS total FROM pause_reasons ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]);
  }

  async create(manager: EntityManager, name: string): Promise<PauseReasonRow> {
    const [row]: PauseReasonRow[] = await manager.query(`INSERT INTO pause_reasons (name) VALUES ($1) RETURNING id, name`, [name]);
    return row;
  }

  async count(manager: EntityManager): Promise<number> {
    const [row]: { n: number }[] = await manager.query(`SELECT count(*)::int AS n FROM pause_reasons`);
    return row.n;
  }
}
