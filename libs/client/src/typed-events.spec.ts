import { join } from 'path';
import * as ts from 'typescript';

// The type test: typed-events.check.ts must compile with no diagnostic, so that every typed use
// compiles and every `@ts-expect-error` (a wrong event name, payload or field) really is an error.
describe('@cc/client types', () => {
  it('type-checks events, payloads and acks against @cc/protocol', () => {
    const root = join(__dirname, '../../..');
    const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
    const program = ts.createProgram([join(__dirname, 'typed-events.check.ts')], { ...options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
