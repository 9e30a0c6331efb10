import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

// Browsers import this library (through @cc/client): it must stay free of Node, Nest and TypeORM.
describe('@cc/protocol', () => {
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));

  it.each(files)('%s imports only its own files', (file) => {
    const source = readFileSync(join(__dirname, file), 'utf8');
    const specifiers = [...source.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    expect(specifiers.filter((s) => !s.startsWith('./'))).toEqual([]);
  });
});
