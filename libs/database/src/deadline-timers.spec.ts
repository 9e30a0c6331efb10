import { DeadlineTimers } from './deadline-timers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DeadlineTimers', () => {
  it('ends a scheduled key once at its deadline; a rescheduled key only at the new one; a cancelled key never', async () => {
    const ended: (number | undefined)[] = [];
    const timers = new DeadlineTimers(async (key) => void ended.push(key), () => undefined);
    const soon = new Date(Date.now() + 20);
    timers.schedule(1, soon);
    timers.schedule(2, soon);
    timers.schedule(2, new Date(Date.now() + 120));
    timers.schedule(3, soon);
    timers.cancel(3);
    await sleep(90);
    expect(ended).toEqual([1]);
    await sleep(120);
    expect(ended).toEqual([1, 2]);
    await timers.stop();
  });

  it('sweeps every period with no key, reports failures, and stop waits for a run under way and schedules nothing after', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    let release!: () => void;
    const timers = new DeadlineTimers(async (key) => {
      calls++;
      if (key === undefined) throw new Error('sweep failed');
      await new Promise<void>((resolve) => (release = resolve));
    }, (err) => errors.push(err));
    timers.startSweep(30);
    await sleep(80);
    expect(errors.length).toBeGreaterThan(0);
    timers.schedule(7, new Date());
    await sleep(40);
    const stopping = timers.stop();
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(timers.stopped).toBe(true);
    const before = calls;
    timers.schedule(8, new Date());
    await sleep(60);
    expect(calls).toBe(before);
  });
});
