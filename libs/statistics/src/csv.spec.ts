import { toCsv } from './csv';

describe('toCsv', () => {
  it('writes a header and quotes what needs quoting', () => {
    expect(toCsv(['a', 'b'], [{ a: 1, b: null }, { a: 'x,"y"', b: 2.5 }])).toBe('a,b\r\n1,\r\n"x,""y""",2.5\r\n');
  });
});
