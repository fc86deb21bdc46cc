/**
 * The log's format: `json` (one JSON object per line — containers, CI, anything that reads logs) or `pretty`
 * (pino-pretty: one coloured, human-readable line per record — a developer's terminal).
 *
 * LOG_FORMAT (validated in config) = `pretty` | `json`; unset ⇒ `auto`: pretty when the log goes to a terminal
 * (stdout is a TTY), CI is not set, and pino-pretty is installed (a devDependency: `npm ci` has it, a production
 * image built with `--omit=dev` does not); JSON otherwise. `LOG_FORMAT=pretty` without pino-pretty is a start-up
 * error, never a silent fall-back.
 *
 * Pretty printing happens AFTER pino has serialized a record, so redaction (paths, `redactDeep`, the URL
 * censoring in logging.ts) is the same in both formats: pino-pretty only ever sees censored JSON.
 */
import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** What config resolves LOG_FORMAT to: a format, or `auto` (decided here, from where the log goes). */
export type LogFormatSetting = LogFormat | 'auto';

interface PinoPrettyModule {
  prettyFactory(options: Record<string, unknown>): (record: string | object) => string;
  isColorSupported: boolean;
}

const require = createRequire(import.meta.url);
let loaded: PinoPrettyModule | null | undefined;

/** pino-pretty, or null when it is not installed (loaded once, synchronously: it is CommonJS). */
export function loadPinoPretty(): PinoPrettyModule | null {
  if (loaded === undefined) {
    try {
      loaded = require('pino-pretty') as PinoPrettyModule;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      loaded = null;
    }
  }
  return loaded;
}

export interface LogTarget {
  /** Is the log's destination a terminal? */
  isTTY: boolean;
  /** Can pino-pretty be loaded? */
  prettyAvailable: boolean;
}

/** The format to write in. Throws when `pretty` is asked for and pino-pretty is missing. */
export function resolveLogFormat(setting: LogFormatSetting, target: LogTarget): LogFormat {
  if (setting === 'pretty' && !target.prettyAvailable) {
    throw new Error(
      'LOG_FORMAT=pretty needs the pino-pretty package, which is a devDependency and not installed here ' +
        '(npm ci installs it; a production install omits it): install it, or use LOG_FORMAT=json',
    );
  }
  if (setting !== 'auto') return setting;
  return target.isTTY && target.prettyAvailable ? 'pretty' : 'json';
}

/**
 * A pino destination that prints each serialized record through pino-pretty into `out`: synchronous, one write per
 * record, no worker thread. Colours only on a terminal that supports them.
 */
export function prettyDestination(out: DestinationStream & { isTTY?: boolean }, colorize: boolean): DestinationStream {
  const pretty = loadPinoPretty();
  if (!pretty) throw new Error('pino-pretty is not installed');
  const format = pretty.prettyFactory({
    colorize: colorize && pretty.isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    // the request line's message already says "METHOD /url status"; the rest stays on the line as fields
    ignore: 'pid,hostname,service,context,req,res',
    messageFormat: '{if context}[{context}] {end}{msg}',
    singleLine: true,
  });
  return { write: (line: string) => out.write(format(line)) };
}

/** The destination pino writes to, in the resolved format (`json`: `out` itself). */
export function formattedDestination(
  setting: LogFormatSetting,
  out: (DestinationStream & { isTTY?: boolean }) | undefined,
): DestinationStream {
  const target = out ?? process.stdout;
  const isTTY = target.isTTY === true;
  const format = resolveLogFormat(setting, { isTTY, prettyAvailable: loadPinoPretty() !== null });
  return format === 'pretty' ? prettyDestination(target, isTTY) : target;
}
