// Each webhook receiver is there: its host accepts a connection (and, for https, completes a TLS
// handshake with a valid certificate) within a short deadline. No HTTP request is sent: a fake
// event would reach the assistant, and a receiver need not expect anything but its POSTs. A running
// hub's own view of its deliveries (a backlog growing old) counts too.
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { WebhookConfig } from '../config/hub-config.js';
import { failed, passed, skipped, type CheckResult } from './check.js';
import type { ComponentView } from './health-view.js';

/** The URL without its query or credentials (which may hold a secret). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** Resolves with what answered ("TCP" or "TLS"), rejects with why not. */
function reach(url: string, timeoutMs: number): Promise<string> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (tls ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? connectTls({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host }, () => done(null, 'TLS'))
      : connectTcp({ host, port }, () => done(null, 'TCP'));
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function done(err: Error | null, what = ''): void {
      clearTimeout(timer);
      socket.destroy();
      if (err === null) resolve(what);
      else reject(err);
    }
    socket.once('error', (err: NodeJS.ErrnoException) => done(new Error(err.code ?? err.message)));
  });
}

/** `hub`: the running hub's `webhooks` component, or null. */
export async function checkWebhooks(hooks: readonly WebhookConfig[], timeoutMs: number, hub: ComponentView | null, configFile: string): Promise<CheckResult> {
  const name = 'webhooks';
  if (hooks.length === 0) return skipped(name, 'no webhooks configured (assistants read GET /v1/events)');
  const good: string[] = [];
  const bad: string[] = [];
  await Promise.all(hooks.map(async (h) => {
    try {
      const how = await reach(h.url, Math.min(h.timeoutMs, timeoutMs));
      good.push(`${h.name} ${shownUrl(h.url)} (${how})`);
    } catch (err) {
      bad.push(`${h.name} ${shownUrl(h.url)}: ${(err as Error).message}`);
    }
  }));
  if (bad.length > 0) {
    return failed(name, `not answering: ${bad.sort().join('; ')}`, `start the receiver there (or renew its certificate), or correct webhooks[].url in ${configFile} and restart the hub; events wait and are retried meanwhile`);
  }
  if (hub !== null && hub.state !== 'ok' && !/dead-letter/.test(hub.reason ?? '')) {
    return failed(name, `the receivers accept connections, but ${hub.reason ?? 'deliveries fail'}`, `the hub's log (imessage-relay logs --config ${configFile}) has each failed delivery with the receiver's answer`, 'hub /health');
  }
  return passed(name, `answering: ${good.sort().join('; ')}`);
}
