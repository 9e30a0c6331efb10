import { Logger } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'fs';
import { dirname, join } from 'path';

/** The repository (or install) root: the nearest folder above this file with a package.json. */
function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Where `vite build` writes the agent console and the chat widget (see vite.config.mjs). */
export const WEB_DIR = join(packageRoot(), 'dist', 'web');

/**
 * Serves the agent console at `/console/`, the chat widget at `/widget/` (and its one-line
 * `/widget/embed.js` loader) and their bundles at `/assets/`, when they were built
 * (`npm run build`, `npm start`, `npm test` build them). Plain static files: no server of their own.
 */
export function serveWebUi(app: NestExpressApplication, dir = WEB_DIR): boolean {
  if (!existsSync(join(dir, 'console', 'index.html'))) {
    new Logger('WebUi').warn(`No console or widget in ${dir}: run "npm run build" to build them`);
    return false;
  }
  for (const folder of ['console', 'widget', 'assets']) {
    app.useStaticAssets(join(dir, folder), {
      prefix: `/${folder}`,
      index: 'index.html',
      redirect: true,
      // Hashed bundles never change; the pages and the embed script must not be cached for long.
      maxAge: folder === 'assets' ? '365d' : 0,
      immutable: folder === 'assets',
    });
  }
  return true;
}
