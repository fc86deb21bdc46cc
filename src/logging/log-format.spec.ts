import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { formattedDestination, loadPinoPretty, prettyDestination, resolveLogFormat } from './log-format.js';

const sink = () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { stream, lines };
};

describe('log format', () => {
  it('auto: pretty on a terminal when pino-pretty is there, JSON otherwise; explicit settings win', () => {
    expect(resolveLogFormat('auto', { isTTY: true, prettyAvailable: true })).toBe('pretty');
    expect(resolveLogFormat('auto', { isTTY: false, prettyAvailable: true })).toBe('json');
    expect(resolveLogFormat('auto', { isTTY: true, prettyAvailable: false })).toBe('json');
    expect(resolveLogFormat('json', { isTTY: true, prettyAvailable: true })).toBe('json');
    expect(resolveLogFormat('pretty', { isTTY: false, prettyAvailable: true })).toBe('pretty');
  });

  it('refuses LOG_FORMAT=pretty without pino-pretty, saying what to do', () => {
    expect(() => resolveLogFormat('pretty', { isTTY: true, prettyAvailable: false })).toThrow(
      /LOG_FORMAT=pretty needs the pino-pretty package.*LOG_FORMAT=json/,
    );
  });

  it('writes JSON to a stream that is not a terminal unless pretty is asked for', () => {
    const { stream } = sink();
    expect(formattedDestination('auto', stream)).toBe(stream);
    expect(formattedDestination('json', stream)).toBe(stream);
    expect(formattedDestination('pretty', stream)).not.toBe(stream);
  });

  it('prints a serialized record as one readable line: time, level, [context] message, the other fields', () => {
    expect(loadPinoPretty()).not.toBeNull(); // a devDependency: installed by npm ci
    const { stream, lines } = sink();
    const dest = prettyDestination(stream, false);
    dest.write(
      JSON.stringify({
        level: 'warn',
        time: '2026-01-02T03:04:05.678Z',
        pid: 1,
        hostname: 'h',
        service: 'jobstream',
        context: 'Jobs',
        msg: 'job created',
        job_id: 'job_1',
      }) + '\n',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: \[Jobs\] job created \{"job_id":"job_1"\}\n$/);
    expect(lines[0]).not.toContain('\u001b['); // no colours off a terminal
  });
});
