import { spawn } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { AGENT_PASSWORD, createAgent } from './factories/agent.factory';
import { bearer, createTestApp, loginAdmin, TEST_ADMIN, TestApp } from './utils/create-test-app';

/*
 * Every code block in README.md and docs/*.md whose info string says `runnable` runs here, against
 * a server this test starts (one per document): ```sh runnable blocks with bash (-euo pipefail), in
 * order; then all ```js runnable blocks of the document at once, as ES modules (so an agent console
 * and a widget can talk to each other). Each must exit 0 within its bound. They get CC_URL,
 * CC_ADMIN_EMAIL / CC_ADMIN_PASSWORD, and CC_AGENT_EMAIL / CC_AGENT_PASSWORD of an agent created
 * for the document. A doc example that breaks fails CI.
 */
const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'test', '.generated', 'examples');
const BLOCK_TIMEOUT_MS = 45_000;

/** What a document's examples need beyond a fresh server and an agent (docs/api.md says so). */
const SETUP: Record<string, (t: TestApp, admin: string) => Promise<void>> = {
  // The agent console accepts offers: let the default queue offer, so that path runs too.
  'docs/api.md': async (t, admin) => {
    const queues = await t.http.get('/api/v1/queues?limit=100').set(bearer(admin)).expect(200);
    const queue = queues.body.data.find((q: { name: string }) => q.name === 'default');
    await t.http.patch(`/api/v1/queues/${queue.id}`).set(bearer(admin)).send({ offerTimeoutSeconds: 30 }).expect(200);
  },
};

interface Block {
  lang: 'sh' | 'js';
  code: string;
  line: number;
}

function runnableBlocks(file: string): Block[] {
  const text = readFileSync(file, 'utf8');
  const blocks: Block[] = [];
  const fence = /^```(\w+)[ \t]+runnable[^\n]*\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const lang = m[1] === 'bash' || m[1] === 'sh' ? 'sh' : m[1] === 'js' || m[1] === 'javascript' ? 'js' : null;
    if (!lang) throw new Error(`${relative(ROOT, file)}: a runnable block must be sh or js, not ${m[1]}`);
    blocks.push({ lang, code: m[2], line: text.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

const documents = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f))];
const withExamples = documents.map((file) => ({ file, blocks: runnableBlocks(file) })).filter((d) => d.blocks.length);

function run(command: string, args: string[], env: Record<string, string>, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} ${signal ? `was killed (${signal}; over ${BLOCK_TIMEOUT_MS} ms?)` : `exited ${code}`}:\n${out}`));
    });
  });
}

describe('Runnable documentation examples (e2e)', () => {
  it('finds the runnable examples (README quick tour, agent console and widget)', () => {
    const names = withExamples.map((d) => relative(ROOT, d.file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'docs/api.md']));
    const api = withExamples.find((d) => d.file.endsWith('docs/api.md'))!;
    expect(api.blocks.filter((b) => b.lang === 'js').length).toBeGreaterThanOrEqual(2);
  });

  it('links only to files inside the repository that exist', () => {
    const broken: string[] = [];
    for (const file of documents) {
      const text = readFileSync(file, 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = join(file, '..', target.split('#')[0]);
        if (!relative(ROOT, path) || relative(ROOT, path).startsWith('..') || !existsSync(path)) broken.push(`${relative(ROOT, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  describe.each(withExamples.map((d) => [relative(ROOT, d.file), d.blocks] as const))('%s', (name, blocks) => {
    let t: TestApp;
    let env: Record<string, string>;

    beforeAll(async () => {
      t = await createTestApp();
      const admin = await loginAdmin(t);
      const agent = await createAgent(t, admin, { name: 'Docs Agent' });
      await SETUP[name]?.(t, admin);
      env = {
        CC_URL: t.url,
        CC_ADMIN_EMAIL: TEST_ADMIN.email,
        CC_ADMIN_PASSWORD: TEST_ADMIN.password,
        CC_AGENT_EMAIL: agent.email,
        CC_AGENT_PASSWORD: AGENT_PASSWORD,
      };
    });
    afterAll(() => t?.close());

    it('runs every runnable block to a clean exit', async () => {
      mkdirSync(OUT, { recursive: true });
      for (const block of blocks.filter((b) => b.lang === 'sh')) {
        await run('bash', ['-euo', 'pipefail', '-c', block.code], env, `${name}:${block.line} (sh)`);
      }
      const scripts = blocks
        .filter((b) => b.lang === 'js')
        .map((block) => {
          const path = join(OUT, `${name.replace(/[^a-z0-9]+/gi, '-')}-${block.line}.mjs`);
          writeFileSync(path, block.code);
          return run(process.execPath, [path], env, `${name}:${block.line} (js)`);
        });
      const outputs = await Promise.all(scripts);
      // The setup above made the offer path run: the console must have taken an offer.
      if (name === 'docs/api.md') expect(outputs.join('\n')).toMatch(/offered until/);
    }, 120_000);
  });
});
