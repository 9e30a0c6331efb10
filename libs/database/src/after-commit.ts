import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';

type Callback = () => void | Promise<void>;
const pending = new WeakMap<QueryRunner, Callback[]>();
const logger = new Logger('AfterCommit');

function runLater(fn: Callback): void {
  Promise.resolve()
    .then(fn)
    .catch((err) => logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err)));
}

/**
 * Runs `fn` once the transaction of `manager` has committed (and never if it rolls back), so
 * domain events are published only for changes that really happened. Outside a transaction
 * it runs at once.
 */
export function afterCommit(manager: EntityManager, fn: Callback): void {
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) {
    runLater(fn);
    return;
  }
  const list = pending.get(runner) ?? [];
  list.push(fn);
  pending.set(runner, list);
}

/** Registers the TypeORM subscriber that flushes `afterCommit` callbacks. */
@Injectable()
export class AfterCommitSubscriber implements EntitySubscriberInterface {
  constructor(dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  afterTransactionCommit(event: { queryRunner: QueryRunner }): void {
    const list = pending.get(event.queryRunner);
    if (!list) return;
    pending.delete(event.queryRunner);
    for (const fn of list) runLater(fn);
  }

  afterTransactionRollback(event: { queryRunner: QueryRunner }): void {
    pending.delete(event.queryRunner);
  }
}
