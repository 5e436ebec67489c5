// go-plugin start-up rules, as Grafana's plugin host applies them (REFERENCE.md §2):
// the magic cookie grafana_plugin_type=datasource, the protocol versions offered by the host, the
// TCP port range, and the single handshake line on stdout.

export const MAGIC_COOKIE_KEY = 'grafana_plugin_type';
export const MAGIC_COOKIE_VALUE = 'datasource';
/** go-plugin's core protocol version (first field of the handshake line). */
export const CORE_PROTOCOL_VERSION = 1;
/** Grafana's plugin protocol version this backend implements (pluginv2). */
export const APP_PROTOCOL_VERSION = 2;

export interface StartupConfig {
  protocolVersion: number;
  /** Inclusive port range to try in order; [0, 0] means "any free port". */
  minPort: number;
  maxPort: number;
}

export class StartupError extends Error {}

/** What a user sees when running the executable by hand (go-plugin prints a similar message). */
export const NOT_A_PROGRAM_MESSAGE =
  'This binary is a Grafana datasource backend plugin (huatuo-autotracing-datasource). ' +
  'It is not meant to be executed directly: Grafana starts it. ' +
  `(Environment variable ${MAGIC_COOKIE_KEY}=${MAGIC_COOKIE_VALUE} is missing.)\n`;

function parsePort(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new StartupError(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n > 65535) throw new StartupError(`${name} must be at most 65535, got ${n}`);
  return n;
}

/**
 * Validates the environment the host gave us. Throws StartupError with a message for stderr.
 * Rules (as go-plugin's server applies them):
 * - the magic cookie must be present with the right value;
 * - PLUGIN_PROTOCOL_VERSIONS, a comma-separated list, must include 2 when present (absent: 2);
 * - PLUGIN_MIN_PORT / PLUGIN_MAX_PORT bound the TCP listener; both absent (or both 0): any port.
 */
export function readStartupConfig(env: NodeJS.ProcessEnv): StartupConfig {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) throw new StartupError(NOT_A_PROGRAM_MESSAGE);

  const offered = env.PLUGIN_PROTOCOL_VERSIONS;
  if (offered !== undefined && offered !== '') {
    const versions = offered.split(',').map((v) => v.trim());
    if (!versions.includes(String(APP_PROTOCOL_VERSION))) {
      throw new StartupError(
        `Incompatible plugin protocol: the host offers PLUGIN_PROTOCOL_VERSIONS=${offered}, ` +
          `this plugin speaks version ${APP_PROTOCOL_VERSION} only.\n`
      );
    }
  }

  const min = parsePort('PLUGIN_MIN_PORT', env.PLUGIN_MIN_PORT) ?? 0;
  const max = parsePort('PLUGIN_MAX_PORT', env.PLUGIN_MAX_PORT) ?? (min === 0 ? 0 : 65535);
  if (min > max) throw new StartupError(`PLUGIN_MIN_PORT (${min}) is above PLUGIN_MAX_PORT (${max})`);
  return { protocolVersion: APP_PROTOCOL_VERSION, minPort: min, maxPort: max };
}

/** The one line go-plugin's host reads from our stdout. */
export function handshakeLine(port: number, protocolVersion = APP_PROTOCOL_VERSION): string {
  return `${CORE_PROTOCOL_VERSION}|${protocolVersion}|tcp|127.0.0.1:${port}|grpc\n`;
}

/** Ports to try, in go-plugin's order (ascending from the minimum). */
export function* candidatePorts(cfg: StartupConfig): Generator<number> {
  if (cfg.minPort === 0 && cfg.maxPort === 0) {
    yield 0;
    return;
  }
  for (let p = Math.max(cfg.minPort, 1); p <= cfg.maxPort; p++) yield p;
}
