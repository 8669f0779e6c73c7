// Clock skew against the hub: the `Date` header of a plain GET to the hub's link address (the link
// port is the one the Mac can reach; any HTTP answer carries the hub's time, to the second).
import { failed, passed, skipped, type CheckResult } from './check.js';

/** More than this apart, something is wrong with one of the clocks (both should follow NTP). */
export const MAX_SKEW_MS = 30_000;

/** ws://host:port/path → http://host:port/path (wss → https). */
export function httpOf(wsUrl: string): string {
  return wsUrl.replace(/^ws(s?):\/\//i, 'http$1://');
}

/**
 * `now`: this machine's clock. The Date header has whole seconds, so the skew is taken from the
 * middle of the request and the middle of the hub's second: ± (0.5 s + half the round trip).
 */
export async function checkClock(hubUrl: string, now: () => number, timeoutMs: number): Promise<CheckResult> {
  const name = 'clock';
  const url = httpOf(hubUrl);
  const t0 = now();
  let date: string | null;
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    date = res.headers.get('date');
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return skipped(name, `the hub did not answer at ${url} (${e.name === 'TimeoutError' ? 'timed out' : e.cause?.code ?? e.message}): see "hub link"`);
  }
  const t1 = now();
  const hubMs = date === null ? Number.NaN : Date.parse(date);
  if (Number.isNaN(hubMs)) return skipped(name, `the hub's answer at ${url} carries no Date header`);
  const skew = hubMs + 500 - (t0 + t1) / 2;
  const margin = 500 + (t1 - t0) / 2;
  const shown = `${skew >= 0 ? 'hub ahead' : 'hub behind'} by ${(Math.abs(skew) / 1000).toFixed(1)} s (± ${(margin / 1000).toFixed(1)} s)`;
  if (Math.abs(skew) - margin > MAX_SKEW_MS) {
    return failed(name, `clocks differ: ${shown}, more than ${MAX_SKEW_MS / 1000} s`,
      'turn on automatic time on both machines: on the Mac System Settings → General → Date & Time → Set time and date automatically (or `sudo sntp -sS time.apple.com`); on the hub `timedatectl set-ntp true`');
  }
  return passed(name, shown);
}
