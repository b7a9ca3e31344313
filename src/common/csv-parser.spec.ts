import { CsvParser, CsvSyntaxError, parseCsvText } from './csv-parser';

describe(CsvParser.name, () => {
  const rows = (text: string) => parseCsvText(text).map((r) => r.fields);

  it.each<[string, string, string[][]]>([
    ['plain LF', 'a,b\n1,2\n', [['a', 'b'], ['1', '2']]],
    ['CRLF', 'a,b\r\n1,2\r\n', [['a', 'b'], ['1', '2']]],
    ['no final newline', 'a,b\n1,2', [['a', 'b'], ['1', '2']]],
    ['empty fields', 'a,b,c\n,,\n', [['a', 'b', 'c'], ['', '', '']]],
    ['trailing empty field at EOF', 'a,b\n1,', [['a', 'b'], ['1', '']]],
    ['quoted comma', 'a,b\n"x, y",2\n', [['a', 'b'], ['x, y', '2']]],
    ['doubled quotes', 'a\n"say ""hi"""\n', [['a'], ['say "hi"']]],
    ['embedded newline', 'a,b\n"line1\nline2",2\n', [['a', 'b'], ['line1\nline2', '2']]],
    ['embedded CRLF', 'a,b\r\n"l1\r\nl2",2\r\n', [['a', 'b'], ['l1\r\nl2', '2']]],
    ['empty quoted field', 'a,b\n"",x\n', [['a', 'b'], ['', 'x']]],
    ['blank lines skipped', 'a\n\n1\n\r\n2\n', [['a'], ['1'], ['2']]],
    ['UTF-8 BOM dropped', '\uFEFFa,b\n1,2\n', [['a', 'b'], ['1', '2']]],
    ['non-ASCII text', 'a\nSjögren\n', [['a'], ['Sjögren']]],
  ])('%s', (_name, text, expected) => {
    expect(rows(text)).toEqual(expected);
  });

  it('reports the physical line each record starts on, counting embedded newlines', () => {
    const lines = parseCsvText('h1,h2\n"a\nb",1\n\nc,2\n').map((r) => r.line);
    expect(lines).toEqual([1, 2, 5]);
  });

  it('gives the same records for every chunking of the input, including splits inside quotes and CRLF', () => {
    const text = 'id,name,note\r\n1,"Smith, J","said ""no""\r\nthen left"\r\n2,Sjögren,\r\n3,"",x';
    const expected = parseCsvText(text);
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: Array<{ fields: string[]; line: number }> = [];
      const sut = new CsvParser((fields, line) => got.push({ fields, line }));
      sut.pushBytes(bytes.subarray(0, cut));
      sut.pushBytes(bytes.subarray(cut));
      sut.end();
      expect(got).toEqual(expected);
    }
    const single: Array<{ fields: string[]; line: number }> = [];
    const sut = new CsvParser((fields, line) => single.push({ fields, line }));
    for (const b of bytes) sut.pushBytes(Buffer.from([b]));
    sut.end();
    expect(single).toEqual(expected);
  });

  it('with reused records and selected columns, gives the selected fields, real counts and lines for every chunking', () => {
    const text = 'id,name,note\r\n1,"Smith, J","said ""no""\r\nthen left"\r\n2,Sjögren,\r\n"3","a\nb",x\n4,y';
    const bytes = Buffer.from(text, 'utf8');
    const expected = parseCsvText(text).slice(1).map((r) => ({ fields: [r.fields[0], '', r.fields[2]], line: r.line }));
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: Array<{ fields: string[]; line: number }> = [];
      let first = true;
      const sut = new CsvParser((fields, line) => {
        if (first) { first = false; sut.reuseRecords(fields.length, [0, 2]); return; }
        got.push({ fields: fields.slice(), line });
      });
      sut.pushBytes(bytes.subarray(0, cut));
      sut.pushBytes(bytes.subarray(cut));
      sut.end();
      expect(got).toEqual(expected);
    }
  });

  it('with reused records, hands a short or long record with its real field count', () => {
    const counts: number[] = [];
    const sut = new CsvParser((fields) => {
      if (counts.length === 0) sut.reuseRecords(fields.length, [1]);
      counts.push(fields.length);
    });
    sut.push('a,b,c\n1,2\n1,2,3,4\n1,2,3\n');
    sut.end();
    expect(counts).toEqual([3, 2, 4, 3]);
  });

  it.each<[string, string, number, RegExp]>([
    ['unterminated quote', 'a,b\n1,"open\n2,3\n', 2, /unterminated/],
    ['text after closing quote', 'a,b\n"x"y,2\n', 2, /after a closing quote/],
    ['quote inside unquoted field', 'a,b\n1,x"y\n', 2, /quote inside/],
  ])('rejects %s with the line of the record', (_name, text, line, message) => {
    let error: unknown;
    try {
      parseCsvText(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect((error as CsvSyntaxError).line).toBe(line);
    expect((error as Error).message).toMatch(message);
  });
});
