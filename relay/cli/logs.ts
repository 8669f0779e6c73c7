// `imessage-relay logs [-f] [--level <level>]`: the daemon's JSON log files, pretty-printed, oldest
// first; -f keeps following the live file (and the next one after a roll-over).
import { closeSync, existsSync, openSync, readSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { prettyFactory } from 'pino-pretty';
import { UsageError, type CliIo } from './io.js';

export const LOGS_USAGE = `imessage-relay logs [--config <file> | --dir <log folder>] [-f] [--level <level>] [--json]
  Pretty-prints the relay's (or hub's) log files; -f follows new lines until Ctrl-C.
  Default folder: the config's log.file folder, else ~/Library/Application Support/imessage-relay/logs.`;

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

function logDir(config: string | undefined, dir: string | undefined): string {
  if (dir !== undefined) return dir;
  if (config !== undefined) {
    const json = JSON.parse(readFileSync(config, 'utf8')) as { log?: { file?: string }; dataDir?: string };
    if (typeof json.log?.file === 'string') return dirname(json.log.file.replace(/^~(?=\/)/, homedir()));
    if (typeof json.dataDir === 'string') return join(json.dataDir.replace(/^~(?=\/)/, homedir()), 'logs');
  }
  return join(homedir(), 'Library', 'Application Support', 'imessage-relay', 'logs');
}

function logFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'current.log')
    .map((f) => join(dir, f)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b, undefined, { numeric: true }));
}

export async function logsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv], strict: true,
    options: { config: { type: 'string' }, dir: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, level: { type: 'string' }, json: { type: 'boolean' } },
  });
  const min = values.level === undefined ? 0 : LEVELS[values.level];
  if (min === undefined) throw new UsageError(`--level must be one of ${Object.keys(LEVELS).join(', ')}`);
  const dir = logDir(values.config, values.dir);
  const pretty = prettyFactory({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' });
  let partial = '';
  const emit = (chunk: string): void => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let level = 0;
      try { level = (JSON.parse(line) as { level?: number }).level ?? 0; } catch { io.stdout(`${line}\n`); continue; }
      if (level < min) continue;
      io.stdout(values.json === true ? `${line}\n` : pretty(line));
    }
  };
  const files = logFiles(dir);
  if (files.length === 0 && values.follow !== true) {
    io.stderr(`no log files in ${dir}\n`);
    return 1;
  }
  for (const f of files) emit(readFileSync(f, 'utf8'));
  if (values.follow !== true) return 0;
  let current = files[files.length - 1] ?? null;
  let offset = current === null ? 0 : statSync(current).size;
  return await new Promise<number>((resolve) => {
    const tick = (): void => {
      const newest = logFiles(dir).at(-1) ?? null;
      if (current !== null && existsSync(current)) {
        const size = statSync(current).size;
        if (size > offset) {
          const fd = openSync(current, 'r');
          const buf = Buffer.alloc(size - offset);
          readSync(fd, buf, 0, buf.length, offset);
          closeSync(fd);
          offset = size;
          emit(buf.toString('utf8'));
        }
      }
      if (newest !== null && newest !== current) { current = newest; offset = 0; }
    };
    const timer = setInterval(tick, 250);
    const stop = (): void => { clearInterval(timer); io.offInterrupt(stop); resolve(0); };
    io.onInterrupt(stop);
  });
}
