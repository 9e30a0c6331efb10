import { spawn } from 'child_process';

/*
 * @apidevtools/swagger-parser is an ES module, which jest's CommonJS runtime cannot load; it runs
 * in a plain node child instead. `validate` answers the dereferenced document, or rejects with
 * the validator's own message (which names the offending path).
 */
const SCRIPT = `
import SwaggerParser from '@apidevtools/swagger-parser';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { mode, doc } = JSON.parse(input);
try {
  const out = mode === 'validate' ? await SwaggerParser.validate(doc) : await SwaggerParser.dereference(doc);
  process.stdout.write(JSON.stringify({ ok: true, doc: out }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.message || err) }));
}
`;

function run(mode: 'validate' | 'dereference', doc: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: __dirname, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const result = JSON.parse(out);
        if (result.ok) resolve(result.doc);
        else reject(new Error(`OpenAPI validation failed: ${result.error}`));
      } catch {
        reject(new Error(`validator exited ${code}: ${out.slice(0, 500)}`));
      }
    });
    child.stdin.end(JSON.stringify({ mode, doc }));
  });
}

export const validateOpenApi = (doc: unknown) => run('validate', doc);
export const dereferenceOpenApi = (doc: unknown) => run('dereference', doc);
