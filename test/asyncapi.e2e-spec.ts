/**
 * docs/asyncapi.yaml is checked by the maintained AsyncAPI parser (@asyncapi/parser v3, the one the AsyncAPI CLI and
 * Studio use): no error diagnostics, every request-reply subject of the code is documented, and so is the worker
 * side (docs/worker-protocol.md): dispatch, appends with their headers, cancel control, the catalogue's KV keys.
 */
import { describe, expect, it } from '@jest/globals';
import { Parser, fromFile } from '@asyncapi/parser';
import { API_SUBJECTS, CONTROL_CANCEL_PREFIX, DISPATCH_SUBJECT, EVENTS_SUBJECT_PREFIX } from '@jobstream/contracts';
import { AGENTS_BUCKET, AGENT_WORKERS_BUCKET } from '@jobstream/job-queue';

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

    // the worker side, with the names the code uses
    for (const address of [
      `${DISPATCH_SUBJECT}.{agent}.{tenant}`,
      `${EVENTS_SUBJECT_PREFIX}.{job_id}`,
      `${CONTROL_CANCEL_PREFIX}.{job_id}`,
      `$KV.${AGENTS_BUCKET}.{agent}`,
      `$KV.${AGENT_WORKERS_BUCKET}.{agent}.{worker_key}`,
    ])
      expect(addresses).toContain(address);
    const append = document!.operations().get('appendJobEvent')!;
    expect(append.action()).toBe('send');
    const headers = append.messages().all()[0]!.headers()!;
    expect(headers.required()).toEqual(['Nats-Msg-Id', 'Nats-Expected-Last-Subject-Sequence']);
    expect(document!.operations().get('receiveJob')!.channels().all()[0]!.address()).toBe(
      `${DISPATCH_SUBJECT}.{agent}.{tenant}`,
    );
  });
});
