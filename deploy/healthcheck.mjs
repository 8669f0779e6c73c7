#!/usr/bin/env node
// The container's HEALTHCHECK: GET the hub's /health (IMR_HEALTH_URL, default the API's
// http://127.0.0.1:7480/health). Healthy (exit 0) while the hub answers and is not down: 200 "ok", or
// 503 "degraded" (a Mac not connected, a webhook backlog: not the container's fault, and a restart
// would not mend it). Unhealthy (exit 1): "down" (shutting down, tunnel down), no answer within 4 s.
const url = process.env.IMR_HEALTH_URL || 'http://127.0.0.1:7480/health';
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  const body = await res.json().catch(() => null);
  const status = body !== null && typeof body === 'object' ? body.status : undefined;
  const reasons = status === 'ok' || body?.components === undefined ? ''
    : `: ${Object.entries(body.components).filter(([, c]) => c?.state !== 'ok').map(([n, c]) => `${n} ${c.state} (${c.reason})`).join(', ')}`;
  console.log(`${url} answered ${res.status} ${status ?? 'without a health report'}${reasons}`);
  process.exitCode = (res.status === 200 && status === 'ok') || (res.status === 503 && status === 'degraded') ? 0 : 1;
} catch (err) {
  console.log(`${url}: no answer (${err instanceof Error ? (err.cause?.code ?? err.name) : String(err)})`);
  process.exitCode = 1;
}
