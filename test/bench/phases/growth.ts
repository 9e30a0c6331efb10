/** The growth and scale-out phases (h–l), each rendering its own section of BENCHMARKS.md. */
import type { GrowthOptions } from './growth-common';
import { agentsSection, runAgents } from './agents';
import { historySection, runHistory } from './history';
import { burst2Section, redisSection, runBurst2, runRedisCost } from './scale';
import { runWaiting, waitingSection } from './waiting';

export interface GrowthRunner {
  title: string;
  run(options: GrowthOptions): Promise<string>;
}

export const GROWTH_RUNNERS: Record<string, GrowthRunner> = {
  history: {
    title: '1,000,000 stored messages in 100,000 conversations',
    run: async (o) => historySection(await runHistory(o)),
  },
  waiting: {
    title: '10,000 customers waiting in one queue while agents resolve 50/s',
    run: async (o) => waitingSection(await runWaiting(o)),
  },
  agents: {
    title: '1,000 logged-in agents and 5,000 active conversations: allocation-lock hold time',
    run: async (o) => agentsSection(await runAgents(o)),
  },
  burst2: {
    title: 'allocation burst on one instance and split over two with Redis',
    run: async (o) => burst2Section(await runBurst2(o)),
  },
  redis: {
    title: 'Redis adapter cost per message (two instances, local vs crossing)',
    run: async (o) => redisSection(await runRedisCost(o)),
  },
};
