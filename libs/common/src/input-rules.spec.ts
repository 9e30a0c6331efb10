import { findInputProblem, isCleanText, MAX_INPUT_DEPTH } from './input-rules';

describe('input rules', () => {
  it('accepts ordinary text, emoji (paired surrogates) and other control characters', () => {
    for (const s of ['', 'hello', 'héllo wörld', '😀 ok', 'tab\tnew\nline', '\u007f']) expect(isCleanText(s)).toBe(true);
  });

  it('refuses U+0000 and unpaired surrogates, high or low, anywhere', () => {
    for (const s of ['a\u0000b', '\u0000', 'a\ud800b', 'a\udc00', '\ud83d', 'x\ude00y', '\ude00\ud83d']) expect(isCleanText(s)).toBe(false);
  });

  it('names the field, also nested and in arrays', () => {
    expect(findInputProblem({ text: 'ok', meta: { tags: ['a', 'b\u0000'] } })).toMatch(/^meta\.tags\.1 /);
    expect(findInputProblem({ text: 'a\ud800b' })).toMatch(/^text must be valid Unicode/);
    expect(findInputProblem({ ['bad\u0000key']: 1 })).toMatch(/field name/);
    expect(findInputProblem({ a: 1, b: [true, null, 2] })).toBeNull();
  });

  it(`allows ${MAX_INPUT_DEPTH} levels of nesting and refuses one more`, () => {
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = { a: v };
      return v;
    };
    expect(findInputProblem(nest(MAX_INPUT_DEPTH))).toBeNull();
    expect(findInputProblem(nest(MAX_INPUT_DEPTH + 1))).toMatch(/nested deeper than 32/);
    expect(findInputProblem(nest(10_000))).toMatch(/nested deeper/);
  });
});
