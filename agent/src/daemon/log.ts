// pino, JSON by default (what journald and log shippers want), pretty on a terminal. Bearer tokens
// never reach the log: authorization headers are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}
): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY && !process.env.AUTOTRACING_LOG_JSON);
  const base = {
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.token', 'token', 'tokens'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty && !opts.destination) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return opts.destination ? pino(base, opts.destination as pino.DestinationStream) : pino(base);
}
