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

/**
 * What /health shows without authorisation: the overall status and each component's state, reason
 * and code, nothing else (details such as accounts, connected relays, cursors and endpoints stay out).
 */
export function publicReport(report: HealthReport): HealthReport {
  const components: Record<string, ComponentHealth> = {};
  for (const [name, c] of Object.entries(report.components)) {
    components[name] = typeof c['code'] === 'string' ? { state: c.state, reason: c.reason, code: c['code'] } : { state: c.state, reason: c.reason };
  }
  return { status: report.status, role: report.role, checked_at: report.checked_at, uptime_s: report.uptime_s, components };
}
