/**
 * docs/asyncapi.yaml is checked by the maintained AsyncAPI parser (@asyncapi/parser v3, the one the AsyncAPI CLI and
 * Studio use): no error diagnostics, and every request-reply subject of the code is documented.
 */
import { describe, expect, it } from '@jest/globals';
import { Parser, fromFile } from '@asyncapi/parser';
import { API_SUBJECTS } from '@jobstream/contracts';

describe('docs/asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3 document that documents every API subject', async () => {
    const parser = new Parser();
    const { document, diagnostics } = await fromFile(
      parser,
      new URL('../docs/asyncapi.yaml', import.meta.url).pathname,
    ).parse();
    const isError = (d: { severity: number }) => d.severity === 0; // DiagnosticSeverity.Error (@stoplight/types)
    const errors = diagnostics.filter(isError).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    for (const subject of Object.values(API_SUBJECTS)) expect(addresses).toContain(subject);
    const input = document!
      .channels()
      .all()
      .find((c) => c.address() === API_SUBJECTS.input)!;
    const payload = input.messages().all()[0]!.payload()!;
    expect(payload.required()).toEqual(['id', 'request_id', 'input']);
  });
});
