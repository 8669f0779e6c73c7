// `imessage-relay run` (the Mac daemon) and `imessage-relay hub` (the cloud hub): load and check the
// config, start, and on SIGTERM/SIGINT stop taking work, flush, close the link and exit 0.
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { parseHubConfig } from '../config/hub-config.js';
import { loadConfigFile } from '../config/load.js';
import { parseMacConfig } from '../config/mac-config.js';
import { Hub } from '../hub/hub.js';
import { createProcessLogger, type Logger } from '../logger.js';
import { MacDaemon } from '../mac/daemon.js';
import type { CliIo } from './io.js';

export const RUN_USAGE = `imessage-relay run --config <file>
  The Mac daemon: reads chat.db, forwards every event to the hub, keeps commands in its inbox.
  The config may also come from IMESSAGE_RELAY_CONFIG. See README "Configuration".`;

export const HUB_USAGE = `imessage-relay hub --config <file>
  The cloud hub: accepts relays over the sealed link, stores events, serves the assistant API and webhooks.`;

async function serve(io: CliIo, logger: Logger, start: () => Promise<void>, stop: () => Promise<void>): Promise<number> {
  try {
    await start();
  } catch (err) {
    // Whatever did open (the link, a store) is closed again, so the process exits with the error
    // instead of lingering half-started.
    await stop().catch(() => undefined);
    throw err;
  }
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (): void => {
      if (stopping) return;
      stopping = true;
      logger.info('signal received: stopping');
      const force = setTimeout(() => resolve(1), 8000);
      force.unref();
      stop().then(() => { clearTimeout(force); io.offInterrupt(onSignal); logger.flush(); resolve(0); },
        (err: unknown) => { logger.error({ err: (err as Error).message }, 'stopping failed'); resolve(1); });
    };
    io.onInterrupt(onSignal);
  });
}

export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' } }, strict: true });
  const { node, file } = loadConfigFile(values.config, process.env);
  const config = parseMacConfig(node, file);
  const logger = await createProcessLogger({ level: config.log.level, file: config.log.file, logContent: config.log.logContent, name: 'relay' });
  const daemon = new MacDaemon({ config, logger, clock: systemClock });
  return serve(io, logger, async () => { await daemon.start(); }, () => daemon.stop());
}

export async function hubCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' } }, strict: true });
  const { node, file } = loadConfigFile(values.config, process.env);
  const config = parseHubConfig(node, file, process.env);
  const logger = await createProcessLogger({ level: config.log.level, file: config.log.file, logContent: config.log.logContent, name: 'hub' });
  const hub = new Hub({ config, logger, clock: systemClock });
  return serve(io, logger, async () => { await hub.start(); }, () => hub.stop());
}
