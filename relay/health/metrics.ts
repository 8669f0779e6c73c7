// A small Prometheus registry: counters (with optional labels) and gauges read at scrape time,
// rendered in the text exposition format. No global state: each process makes its own.

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly values: Map<string, number>;
  readonly collect?: () => number;
}

const escape = (v: string): string => (/[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);

function labelKey(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 1) return `${keys[0]}="${escape(labels[keys[0]!]!)}"`;
  return keys.sort().map((k) => `${k}="${escape(labels[k]!)}"`).join(',');
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  constructor(private readonly prefix = 'imessage_relay_') {}

  counter(name: string, help: string): void {
    this.families.set(name, { type: 'counter', help, values: new Map() });
  }

  /** A gauge whose value is read from `collect` at every scrape. */
  gauge(name: string, help: string, collect: () => number): void {
    this.families.set(name, { type: 'gauge', help, values: new Map(), collect });
  }

  inc(name: string, by = 1, labels?: Labels): void {
    const f = this.families.get(name);
    if (f === undefined) throw new Error(`unknown metric ${name}`);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + by);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.families) {
      const full = `${this.prefix}${name}`;
      lines.push(`# HELP ${full} ${f.help}`, `# TYPE ${full} ${f.type}`);
      if (f.collect !== undefined) {
        let v: number;
        try {
          v = f.collect();
        } catch {
          v = Number.NaN;
        }
        lines.push(`${full} ${Number.isFinite(v) ? v : 'NaN'}`);
        continue;
      }
      if (f.values.size === 0) lines.push(`${full} 0`);
      for (const [k, v] of f.values) lines.push(k === '' ? `${full} ${v}` : `${full}{${k}} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
