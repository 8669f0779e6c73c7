// Health as monitoring needs it: each component's state and reason, the overall status the worst
// of them (ok < degraded < down), and the HTTP status to answer with (200 only when ok); and the
// public view of a report, which keeps states, reasons and codes only.

export type HealthState = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  readonly state: HealthState;
  /** Why it is not ok (null when ok). */
  readonly reason: string | null;
  readonly [detail: string]: unknown;
}

export interface HealthReport {
  readonly status: HealthState;
  readonly role: 'mac' | 'hub';
  readonly checked_at: string;
  readonly uptime_s: number;
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

const RANK: Record<HealthState, number> = { ok: 0, degraded: 1, down: 2 };

export function overall(components: Readonly<Record<string, ComponentHealth>>): HealthState {
  let worst: HealthState = 'ok';
  for (const c of Object.values(components)) if (RANK[c.state] > RANK[worst]) worst = c.state;
  return worst;
}

export function httpStatus(report: HealthReport): number {
  return report.status === 'ok' ? 200 : 503;
}

export const ok = (details: Record<string, unknown> = {}): ComponentHealth => ({ state: 'ok', reason: null, ...details });
export const degraded = (reason: string, details: Record<string, unknown> = {}): ComponentHealth => ({ state: 'degraded', reason, ...details });
export const down = (reason: string, details: Record<string, unknown> = {}): ComponentHealth => ({ state: 'down', reason, ...details });

/** Details that identify nothing and may be shown without authorisation: a stable code, and how many connections failed in a row. */
const PUBLIC_DETAILS: Readonly<Record<string, 'string' | 'number'>> = { code: 'string', failures: 'number' };

/**
 * What /health shows without authorisation: the overall status and each component's state, reason
 * and its public details (code, failures), nothing else (accounts, connected relays, cursors and
 * endpoints stay out).
 */
export function publicReport(report: HealthReport): HealthReport {
  const components: Record<string, ComponentHealth> = {};
  for (const [name, c] of Object.entries(report.components)) {
    const shown: Record<string, unknown> = { state: c.state, reason: c.reason };
    for (const [key, type] of Object.entries(PUBLIC_DETAILS)) if (typeof c[key] === type) shown[key] = c[key];
    components[name] = shown as ComponentHealth;
  }
  return { status: report.status, role: report.role, checked_at: report.checked_at, uptime_s: report.uptime_s, components };
}
