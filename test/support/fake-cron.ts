// A fake clock and a CronSource driven by it: advancing the clock fires each job at every time
// node-cron's own matcher says its expression matches (whole seconds for 6 fields, whole minutes for
// 5), awaiting each run, so a test sees a job's effect without sleeping. Plus a log sink to read.
import { Writable } from 'node:stream';
import { createTask } from 'node-cron';
import type { Clock } from '../../relay/clock.js';
import { createLogger, type Logger } from '../../relay/logger.js';
import type { CronSource } from '../../relay/scheduler.js';

export class FakeClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Sets the time, running the timers due by then. */
  set(t: number): void {
    this.t = t;
    const due = this.timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((x) => x.at > t);
    for (const x of due) x.fn();
  }
}

interface Entry { readonly name: string; readonly match: (d: Date) => boolean; readonly seconds: boolean; readonly fire: () => Promise<void>; stopped: boolean }

export class FakeCron implements CronSource {
  private readonly entries: Entry[] = [];
  /** Each firing, in order: job name and the fake time. */
  readonly fired: Array<{ name: string; at: number }> = [];

  constructor(private readonly clock: FakeClock) {}

  start(name: string, expression: string, fire: () => Promise<void>): { stop(): void } {
    const task = createTask(expression, () => undefined);
    const match = (d: Date): boolean => task.match(d);
    void task.destroy();
    const entry: Entry = { name, match, seconds: expression.trim().split(/\s+/).length === 6, fire, stopped: false };
    this.entries.push(entry);
    return { stop: () => { entry.stopped = true; } };
  }

  /** Jobs armed and not stopped. */
  armed(): string[] {
    return this.entries.filter((e) => !e.stopped).map((e) => e.name);
  }

  /** Moves the clock forward by `ms`, firing and awaiting every job whose expression matches a time passed. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.t + ms;
    const step = this.entries.some((e) => e.seconds && !e.stopped) ? 1000 : 60_000;
    for (let t = Math.floor(this.clock.t / step) * step + step; t <= target; t += step) {
      this.clock.set(t);
      const d = new Date(t);
      for (const e of this.entries) {
        if (e.stopped || (!e.seconds && t % 60_000 !== 0) || !e.match(d)) continue;
        this.fired.push({ name: e.name, at: t });
        await e.fire();
      }
    }
    this.clock.set(target);
  }
}

/** A logger whose JSON lines a test reads back. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown> & { msg: string; level: number }> } {
  const lines: Array<Record<string, unknown> & { msg: string; level: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as never);
      done();
    },
  });
  return { logger: createLogger({ level, destination: sink }), lines };
}
