import { mkdtempSync, openSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import pino from 'pino';
import { createLogDestination, LOG_BUFFER, LogDestination, logLinesDropped } from './log-destination';

const dropped = async () => (await logLinesDropped.get()).values.reduce((sum, v) => sum + v.value, 0);
const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const flushed = (d: LogDestination) => new Promise<void>((resolve, reject) => d.flush((err) => (err ? reject(err) : resolve())));

describe('log destination', () => {
  let dir: string;
  let file: string;
  let fd: number;
  let destination: LogDestination | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-log-'));
    file = join(dir, 'out.log');
    fd = openSync(file, 'a');
  });
  afterEach(async () => {
    // The destination owns the descriptor: ending it stops its flush timer and closes the file.
    if (destination) await new Promise((resolve) => destination!.once('close', resolve).end());
    destination = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes every line, whole, in order, once flushed', async () => {
    destination = createLogDestination(fd);
    const logger = pino({ base: null }, destination);
    for (let i = 0; i < 500; i++) logger.info({ i }, 'request completed');
    await flushed(destination);
    const lines = linesOf(file).map((line) => JSON.parse(line) as { i: number; msg: string });
    expect(lines.map((l) => l.i)).toEqual([...Array(500).keys()]);
    expect(lines.every((l) => l.msg === 'request completed')).toBe(true);
  });

  it('a quiet logger\'s line reaches the file without a flush call and below minBytes (periodic flush)', async () => {
    destination = createLogDestination(fd, { ...LOG_BUFFER, flushMs: 50 });
    pino({ base: null }, destination).info('one line');
    const deadline = Date.now() + 5000;
    while (linesOf(file).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(linesOf(file)).toHaveLength(1);
  });

  it('holds at most maxBytes: lines past the bound are dropped and counted, the others written whole', async () => {
    const before = await dropped();
    // A minimum of one byte: the first line is written at once; while that write is in flight the rest wait in the buffer.
    destination = createLogDestination(fd, { minBytes: 1, maxBytes: 2000, flushMs: 0 });
    const logger = pino({ base: null }, destination);
    const total = 200;
    for (let i = 0; i < total; i++) logger.info({ i, pad: 'x'.repeat(60) }, 'line'); // ~100 bytes each, in one turn of the event loop
    await flushed(destination);
    const written = linesOf(file).map((line) => JSON.parse(line) as { i: number });
    const lost = (await dropped()) - before;
    expect(lost).toBeGreaterThan(0);
    expect(written.length + lost).toBe(total);
    // The first line plus what fitted in 2,000 bytes: the bound held.
    expect(written.length).toBeLessThanOrEqual(1 + Math.floor(2000 / 90));
    expect(written.map((l) => l.i)).toEqual([...written.map((l) => l.i)].sort((a, b) => a - b));
  });
});
