// Scheduled upkeep: named jobs on cron schedules, one run of a job at a time, failures logged and
// never thrown. node-cron sits behind this one module (its parser checks the config's schedules; its
// timers fire the jobs); tests pass a CronSource of their own driven by a fake clock.
import { schedule, validateDetailed } from 'node-cron';
import type { Clock } from './clock.js';
import { asRelayError } from './errors.js';
import type { Logger } from './logger.js';

/** Fires a callback at each time a cron expression matches, until stopped. */
export interface CronSource {
  /** Starts firing `fire` at every match of `expression` (local time); `name` is for its logs. */
  start(name: string, expression: string, fire: () => Promise<void>): { stop(): void };
}

/**
 * Why a cron expression is not one node-cron runs (5 fields, or 6 with seconds first), or null when
 * it is. The config calls this so a bad schedule stops the process at start, naming its key.
 */
export function cronProblem(expression: string): string | null {
  const v = validateDetailed(expression);
  if (v.valid) return null;
  return v.errors.map((e) => e.message).join('; ') || 'not a cron expression';
}

/** node-cron's own timers (real time). Its warnings (a missed run after the Mac slept) go to our log. */
export function nodeCronSource(logger: Logger): CronSource {
  const log = {
    info: (m: string) => logger.info({ source: 'node-cron' }, m),
    warn: (m: string) => logger.warn({ source: 'node-cron' }, m),
    error: (m: string | Error) => logger.error({ source: 'node-cron' }, String(m)),
    debug: (m: string | Error) => logger.debug({ source: 'node-cron' }, String(m)),
  };
  return {
    start(name, expression, fire) {
      const task = schedule(expression, fire, { name: `imessage-relay:${name}`, noOverlap: true, unref: true, logger: log });
      return { stop: () => { void task.destroy(); } };
    },
  };
}

/** One upkeep job: what it does, and when (a cron expression, checked with cronProblem). */
export interface Job {
  readonly name: string;
  readonly schedule: string;
  /** The work; what it resolves with (counts) is logged at debug level. Throwing is logged as a warning. */
  readonly run: () => unknown;
}

export interface SchedulerDeps {
  readonly jobs: readonly Job[];
  readonly cron: CronSource;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Runs each job on its schedule. A job still running when its time comes again is not started a
 * second time (that tick is skipped); a job that throws is logged (`upkeep job failed`, with its
 * code) and runs again at its next time.
 */
export class Scheduler {
  private readonly tasks: Array<{ stop(): void }> = [];
  private readonly running = new Map<string, Promise<void>>();
  private stopped = true;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Arms every job on its schedule. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const job of this.deps.jobs) {
      this.tasks.push(this.deps.cron.start(job.name, job.schedule, () => (this.stopped ? Promise.resolve() : this.run(job.name))));
    }
  }

  /**
   * Runs a job now (at start, or when a test asks), unless it is running already: then waits for that run.
   * Never rejects: a failure is logged.
   */
  run(name: string): Promise<void> {
    const current = this.running.get(name);
    if (current !== undefined) {
      this.deps.logger.debug({ job: name }, 'upkeep job still running: this run is skipped');
      return current;
    }
    const job = this.deps.jobs.find((j) => j.name === name);
    if (job === undefined) return Promise.resolve();
    const done = this.execute(job).finally(() => this.running.delete(name));
    this.running.set(name, done);
    return done;
  }

  private async execute(job: Job): Promise<void> {
    const { clock, logger } = this.deps;
    const started = clock.now();
    try {
      const result = await job.run();
      logger.debug({ job: job.name, ms: clock.now() - started, result }, 'upkeep job done');
    } catch (err) {
      const e = asRelayError(err);
      logger.warn({ job: job.name, code: e.code, err: e.message }, 'upkeep job failed');
    }
  }

  /** Disarms every job and waits for runs in progress (the stores they use close next). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks.splice(0)) t.stop();
    await Promise.all([...this.running.values()]);
  }
}
