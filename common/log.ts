import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Keys that may carry a secret. Their values never reach a log line. */
const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["x-goog-iap-jwt-assertion"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-goog-iap-jwt-assertion"]',
  'res.headers["set-cookie"]',
];

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LogOptions {
  /** Component name, put on every line as `component`. */
  name: string;
  /** pino level; default `info`. */
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
  /** Human-readable lines instead of JSON (the CLI sets it on a terminal). */
  pretty?: boolean;
}

/**
 * JSON lines with a `severity` field that Cloud Logging understands, `message` as the text
 * key, and secrets redacted by key name.
 */
export function createLogger(opts: LogOptions): Logger {
  const options: LoggerOptions = {
    name: opts.name,
    level: opts.level ?? 'info',
    messageKey: 'message',
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      bindings: (b) => ({ component: b.name }),
    },
  };
  if (opts.pretty && !opts.destination) {
    return pino(options, prettyStream());
  }
  return pino(options, (opts.destination ?? process.stdout) as pino.DestinationStream);
}

/** A logger that drops everything, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** One readable line per record: `12:00:01.123 INFO  wrapper  message key=value`. */
function prettyStream(): pino.DestinationStream {
  return {
    write(line: string) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stdout.write(line);
        return;
      }
      const { time, severity, component, message, ...rest } = rec;
      const t = typeof time === 'string' ? time.slice(11, 23) : '';
      const extras = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const sev = String(severity ?? '').padEnd(7);
      process.stdout.write(`${t} ${sev} ${String(component ?? '').padEnd(10)} ${String(message ?? '')}${extras ? '  ' + extras : ''}\n`);
    },
  };
}
