// Logs as JSON lines on stderr in hclog's shape (@level, @message, @timestamp, @module, then fields),
// which Grafana's plugin host parses and re-logs at the right level. Never writes to stdout.
// go-plugin parses @timestamp with one exact layout (HCLOG_TIME_LAYOUT); a line it cannot parse is
// re-logged raw at debug, which Grafana's default level drops, errors included.

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  module?: string;
  write?: (line: string) => void;
}

/** go-plugin's layout for @timestamp (log_entry.go): microseconds, exactly six digits. */
export const HCLOG_TIME_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

/** `t` (ms since the epoch, fractional for sub-millisecond) in HCLOG_TIME_LAYOUT, UTC. */
export function hclogTimestamp(t: number = performance.timeOrigin + performance.now()): string {
  const ms = Math.floor(t);
  const us = Math.min(999, Math.max(0, Math.floor((t - ms) * 1000)));
  // toISOString: YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`;
}

function errorText(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  return v;
}

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const module = opts.module ?? 'plugin.huatuo-autotracing-datasource';
  const emit = (level: Level, msg: string, fields?: LogFields): void => {
    if (ORDER[level] < min) return;
    const rec: LogFields = {
      '@level': level,
      '@message': msg,
      '@timestamp': hclogTimestamp(),
      '@module': module,
    };
    for (const [k, v] of Object.entries(base)) rec[k] = errorText(v);
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = errorText(v);
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ '@level': level, '@message': msg, '@timestamp': rec['@timestamp'], '@module': module });
    }
    write(line + '\n');
  };
  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = createLogger({ write: () => undefined });
