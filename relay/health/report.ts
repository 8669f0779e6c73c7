// Health as monitoring needs it: each component's state and reason, the overall status the worst
// of them (ok < degraded < down), and the HTTP status to answer with (200 only when ok).

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
