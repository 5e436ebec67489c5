// `run`: the daemon. SIGHUP reloads the config (a bad file keeps the running one); SIGTERM/SIGINT stop
// gracefully (captures in flight end `partial`, the database closes cleanly).
import { Agent } from '../daemon/agent';
import { ConfigError } from '../config';
import { parse } from './args';

export async function runDaemon(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' } });
  const configFile = values.config ?? process.env.AUTOTRACING_CONFIG;
  let agent: Agent;
  try {
    agent = await Agent.start({ configFile });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        agent.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      agent.log.info({ signal }, 'signal received');
      agent.stop().then(
        () => resolve(0),
        (e: unknown) => {
          agent.log.error({ err: e }, 'unclean stop');
          resolve(1);
        }
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => agent.reload());
    // A bug in one capture or request must not take the agent down with it.
    process.on('uncaughtException', (e) => agent.log.error({ err: e }, 'uncaught exception (agent keeps running)'));
    process.on('unhandledRejection', (e) => agent.log.error({ err: e }, 'unhandled rejection (agent keeps running)'));
  });
}
