// Entry point of the datasource backend executable (gpx_autotracing_linux_amd64).
// Grafana starts it with grafana_plugin_type=datasource, PLUGIN_PROTOCOL_VERSIONS and a port range;
// it listens on 127.0.0.1, prints exactly one handshake line on stdout, logs JSON lines on stderr
// and exits promptly when the host calls plugin.GRPCController/Shutdown (or on SIGTERM).
import { createLogger, type Level } from './log';
import { StartupError, candidatePorts, handshakeLine, readStartupConfig } from './plugin/handshake';
import { PluginServer } from './plugin/server';

export const BACKEND_VERSION = '0.1.0';

function levelFromEnv(v: string | undefined): Level {
  const l = (v ?? '').toLowerCase();
  return l === 'trace' || l === 'debug' || l === 'info' || l === 'warn' || l === 'error' ? l : 'info';
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let cfg;
  try {
    cfg = readStartupConfig(env);
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }

  const log = createLogger({ level: levelFromEnv(env.AUTOTRACING_BACKEND_LOG_LEVEL ?? env.GF_PLUGIN_LOG_LEVEL) });
  let exiting = false;
  const exit = (code: number, why: string): void => {
    if (exiting) return;
    exiting = true;
    log.info('exiting', { reason: why });
    const leave = () => {
      // stderr is a pipe: flush the last line, then leave without waiting for sockets to drain
      process.stderr.write('', () => process.exit(code));
      setTimeout(() => process.exit(code), 200).unref();
    };
    // the replies in flight (Shutdown's own) go out before the server closes
    server.stop().then(leave, leave);
  };
  const server = new PluginServer({ log, onShutdown: () => exit(0, 'shutdown') });

  let port: number | undefined;
  let lastError: unknown;
  for (const candidate of candidatePorts(cfg)) {
    try {
      port = await server.bind(candidate);
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (port === undefined) {
    process.stderr.write(
      `Could not listen on 127.0.0.1 within ports ${cfg.minPort}-${cfg.maxPort}: ${(lastError as Error | undefined)?.message ?? 'no port'}\n`
    );
    process.exit(1);
  }

  // The handshake is the first and only thing ever written to stdout. Anything later that tries to
  // print there (a stray console.log in a dependency) goes to stderr instead.
  process.stdout.write(handshakeLine(port, cfg.protocolVersion));
  const toStderr = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  process.stdout.write = toStderr;
  console.log = (...args: unknown[]) => log.info(args.map(String).join(' '));
  console.info = console.log;
  console.debug = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  console.warn = (...args: unknown[]) => log.warn(args.map(String).join(' '));
  console.error = (...args: unknown[]) => log.error(args.map(String).join(' '));

  log.info('plugin listening', {
    address: `127.0.0.1:${port}`,
    version: BACKEND_VERSION,
    node: process.version,
    pid: process.pid,
  });

  // go-plugin hosts forward Ctrl-C to the whole process group; like go-plugin's Serve, ignore SIGINT
  // and wait for the host's Shutdown.
  process.on('SIGINT', () => log.debug('SIGINT ignored: waiting for the plugin host to shut us down'));
  process.on('SIGTERM', () => exit(0, 'SIGTERM'));
  process.on('SIGPIPE', () => undefined);
  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: err, stack: err.stack ?? '' }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: err }));
}
