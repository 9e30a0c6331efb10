import { execFileSync } from 'child_process';
import { existsSync, mkdirSync } from 'fs';
import { join } from 'path';
import { Browser, chromium, Locator, Page } from 'playwright-core';
import { WEB_DIR } from '../../apps/contact-center/src/platform/web-ui';

/** Debian's Chromium (apt-get install chromium); no browser is ever downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
export const SCREENSHOT_DIR = join(__dirname, '../../test-results/screenshots');

if (!HAVE_CHROMIUM) {
  // The one reason these tests may not run; say it where the test output is read.
  console.warn(`Browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

/** `npm test` builds the pages first (pretest); a direct jest run builds them when they are missing. */
export function ensureWebBuilt(): void {
  if (existsSync(join(WEB_DIR, 'console', 'index.html')) && existsSync(join(WEB_DIR, 'widget', 'embed.js'))) return;
  execFileSync(process.execPath, [require.resolve('vite/bin/vite.js'), 'build'], { cwd: join(__dirname, '../..'), stdio: 'inherit' });
}

export function launchChromium(): Promise<Browser> {
  // Playwright starts every launch with a fresh, temporary user-data dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export const PHONE = { width: 390, height: 844 };
export const LAPTOP = { width: 1366, height: 768 };

const WAIT_MS = 15_000;

async function poll<T>(read: () => Promise<T>, ok: (v: T) => boolean, describe: (v: T | undefined) => string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(describe(last));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Bounded waits on what a user sees (playwright-core has no `expect` of its own). */
export const see = {
  visible: (l: Locator) => l.first().waitFor({ state: 'visible', timeout: WAIT_MS }),
  hidden: (l: Locator) => l.first().waitFor({ state: 'hidden', timeout: WAIT_MS }),
  text: (l: Locator, want: string | RegExp, timeoutMs = WAIT_MS) =>
    poll(
      () => l.innerText({ timeout: 1000 }),
      (v) => (typeof want === 'string' ? v.includes(want) : want.test(v)),
      (v) => `expected ${l} to contain ${want}, it says: ${JSON.stringify(v)}`,
      timeoutMs,
    ),
  exactText: (l: Locator, want: string, timeoutMs = WAIT_MS) =>
    poll(
      () => l.innerText({ timeout: 1000 }),
      (v) => v.trim() === want,
      (v) => `expected ${l} to be ${JSON.stringify(want)}, it is: ${JSON.stringify(v)}`,
      timeoutMs,
    ),
  count: (l: Locator, n: number) =>
    poll(
      () => l.count(),
      (v) => v === n,
      (v) => `expected ${n} of ${l}, found ${v}`,
    ),
};
