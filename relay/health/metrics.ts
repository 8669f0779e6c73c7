// One daemon's Prometheus registry, kept by prom-client: our counters and scrape-time gauges under
// the imessage_relay_ prefix and, on a daemon, Node's standard process metrics beside them. A
// registry per instance (never prom-client's global one): tests run several daemons in one process.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

export interface MetricsOptions {
  /**
   * Adds prom-client's default metrics (process CPU, heap, GC, event-loop lag, open file
   * descriptors, …; unprefixed, as every Node dashboard expects them). For a daemon; its
   * collectors (an event-loop delay monitor, a GC observer) last as long as the process.
   */
  readonly processMetrics?: boolean;
  readonly prefix?: string;
}

/** Labels in name order, so a series reads the same whatever order the caller wrote them in. */
function sorted(labels: Labels): Record<string, string> {
  const keys = Object.keys(labels);
  if (keys.length < 2) return { ...labels };
  return Object.fromEntries(keys.sort().map((k) => [k, labels[k]!]));
}

export class Metrics {
  private readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly prefix: string;

  constructor(opts: MetricsOptions = {}) {
    this.prefix = opts.prefix ?? 'imessage_relay_';
    if (opts.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  /** A counter; `labelNames` are the labels its series carry (none: one series, shown as 0 until counted). */
  counter(name: string, help: string, labelNames: readonly string[] = []): void {
    this.counters.set(name, new Counter({ name: `${this.prefix}${name}`, help, labelNames: [...labelNames].sort(), registers: [this.registry] }));
  }

  /** A gauge whose value is read from `collect` at every scrape (NaN when it throws). */
  gauge(name: string, help: string, collect: () => number): void {
    new Gauge({
      name: `${this.prefix}${name}`, help, registers: [this.registry],
      collect() {
        let v: number;
        try {
          v = collect();
        } catch {
          v = Number.NaN;
        }
        this.set(v);
      },
    });
  }

  /** @throws Error for a metric never registered, or a label it was not registered with */
  inc(name: string, by = 1, labels?: Labels): void {
    const c = this.counters.get(name);
    if (c === undefined) throw new Error(`unknown metric ${name}`);
    if (labels === undefined) c.inc(by);
    else c.inc(sorted(labels), by);
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
