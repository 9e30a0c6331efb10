/** The growth and scale-out phases (f–j), each rendering its own section of BENCHMARKS.md. */
import type { GrowthOptions } from './growth-common';
import { historySection, runHistory } from './history';

export interface GrowthRunner {
  title: string;
  run(options: GrowthOptions): Promise<string>;
}

export const GROWTH_RUNNERS: Record<string, GrowthRunner> = {
  history: {
    title: '1,000,000 stored messages in 100,000 conversations',
    run: async (o) => historySection(await runHistory(o)),
  },
};
