import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'fs';
import { join, relative } from 'path';
import * as ts from 'typescript';
import { SwaggerModule } from '@nestjs/swagger';

/*
 * The built server's OpenAPI document gets its property schemas and comments from the
 * @nestjs/swagger compiler plugin (nest-cli.json). ts-jest transpiles without it, so the docs
 * tests generate the same metadata with the plugin's visitor (PluginMetadataGenerator, the way
 * Nest documents for SWC builds) and load it before the app builds its documents: what the tests
 * check is what `npm start` serves. The file is regenerated when a source file is newer.
 */
const ROOT = join(__dirname, '..', '..');
const OUT_DIR = join(ROOT, 'test', '.generated');
const FILE = 'plugin-metadata.ts';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function generate(): void {
  // Loaded here, not at the top: only the docs tests pay for the compiler plugin.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PluginMetadataGenerator } = require('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator');
  const { ReadonlyVisitor } = require('@nestjs/swagger/plugin');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const options = JSON.parse(require('fs').readFileSync(join(ROOT, 'nest-cli.json'), 'utf8')).compilerOptions.plugins.find(
    (p: { name: string }) => p.name === '@nestjs/swagger',
  ).options;
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'apps/contact-center/tsconfig.app.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('cannot read apps/contact-center/tsconfig.app.json');
  const program = ts.createProgram(config.fileNames, config.options);
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${FILE}.${process.pid}.ts`;
  new PluginMetadataGenerator().generate({
    visitors: [new ReadonlyVisitor({ ...options, pathToSource: OUT_DIR })],
    outputDir: OUT_DIR,
    filename: tmp,
    tsProgramRef: program,
    printDiagnostics: false,
  });
  renameSync(join(OUT_DIR, tmp), join(OUT_DIR, FILE));
}

/** Generates (when stale) and loads the swagger plugin's metadata; call before creating the app. */
export async function loadPluginMetadata(): Promise<void> {
  const file = join(OUT_DIR, FILE);
  const fresh = existsSync(file) && statSync(file).mtimeMs > Math.max(newestSource(join(ROOT, 'apps')), newestSource(join(ROOT, 'libs')));
  if (!fresh) generate();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const metadata = await require(`./${relative(__dirname, file).replace(/\.ts$/, '')}`).default();
  // Classes a module does not export (a controller class made inside a function) get their
  // metadata from the plugin in place when built; here they are skipped.
  for (const kind of ['models', 'controllers']) {
    const entries: [Promise<Record<string, unknown>>, Record<string, unknown>][] = metadata['@nestjs/swagger'][kind] ?? [];
    metadata['@nestjs/swagger'][kind] = await Promise.all(
      entries.map(async ([load, classes]) => {
        const exports = await load;
        return [exports, Object.fromEntries(Object.entries(classes).filter(([name]) => exports[name]))];
      }),
    );
  }
  await SwaggerModule.loadPluginMetadata(async () => metadata);
}
