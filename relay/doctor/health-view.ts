// Reads a running daemon's /health (and the Mac's /metrics) instead of competing with it: a second
// link session with the relay's key would replace the daemon's at the hub.

/** A component as /health shows it (the public form: state, reason, code; the hub adds details with its token). */
export interface ComponentView {
  readonly state: string;
  readonly reason: string | null;
  readonly [detail: string]: unknown;
}

/** A running daemon's /health (and /metrics) as read. */
export interface HealthView {
  /** Where it answered, e.g. http://127.0.0.1:7481. */
  readonly base: string;
  readonly status: string;
  readonly role: string;
  readonly components: Readonly<Record<string, ComponentView>>;
  /** Gauges and counters of /metrics without the imessage_relay_ prefix (empty when not read). */
  readonly metrics: ReadonlyMap<string, number>;
}

/** http://host:port for a listen address (a wildcard host is reached on loopback). */
export function baseUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** Prometheus text → name (with labels, as written) → value. */
export function parseMetrics(text: string, prefix = 'imessage_relay_'): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(\S+)$/.exec(line);
    if (m === null) continue;
    out.set(m[1]!.startsWith(prefix) ? m[1]!.slice(prefix.length) : m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * GET <base>/health (and /metrics when `metrics`): the view, or why nothing answered as one of our
 * daemons (`role` must be `expectRole`). Never throws.
 */
export async function readHealth(base: string, opts: { expectRole: 'mac' | 'hub'; token?: string; metrics?: boolean; timeoutMs: number }): Promise<HealthView | { readonly error: string }> {
  const headers: Record<string, string> = opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` };
  try {
    const res = await fetch(`${base}/health`, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
    const body = await res.json() as { status?: unknown; role?: unknown; components?: unknown };
    if (body.role !== opts.expectRole || typeof body.components !== 'object' || body.components === null) {
      return { error: `${base}/health answered, but not as the ${opts.expectRole === 'mac' ? 'relay' : 'hub'} (HTTP ${res.status})` };
    }
    let metrics = new Map<string, number>();
    if (opts.metrics === true) {
      const m = await fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(opts.timeoutMs) });
      metrics = parseMetrics(await m.text());
    }
    return { base, status: String(body.status), role: opts.expectRole, components: body.components as Record<string, ComponentView>, metrics };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message;
    return { error: `nothing answered at ${base}/health (${why})` };
  }
}

/** True when readHealth reached the daemon. */
export const isView = (v: HealthView | { readonly error: string }): v is HealthView => !('error' in v);
