// The hub's side of the link's request/answer exchange (PROTOCOL.md §4.3): a query goes to the relay
// with a fresh id and waits at most its timeout for the one answer; nothing of it is stored.
import { AssistantCode, RelayError } from '../errors.js';
import type { LinkMessage } from '../link/codec.js';

interface Waiting {
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (err: RelayError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Queries in flight on one relay connection. */
export class RelayQueries {
  private next = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly send: (m: LinkMessage) => void) {}

  /**
   * Sends `q` and resolves with the relay's result.
   * @throws RelayError QUERY_TIMEOUT (no answer within `timeoutMs`), QUERY_FAILED (the relay's error,
   *   its code in `details.relay_code`), RELAY_OFFLINE (the connection closed first).
   */
  ask(q: string, params: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new RelayError(AssistantCode.QueryTimeout, `the relay did not answer the ${q} query within ${timeoutMs} ms`, { q }));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      try {
        this.send({ t: 'query', id, q, params });
      } catch (err) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(new RelayError(AssistantCode.RelayOffline, `the query could not be sent: ${(err as Error).message}`, { q }));
      }
    });
  }

  /** An answer arrived: settles its query (a late or unknown id is ignored). */
  answer(m: Extract<LinkMessage, { t: 'answer' }>): void {
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    if (m.error !== undefined) w.reject(new RelayError(AssistantCode.QueryFailed, m.error.message, { relay_code: m.error.code }));
    else w.resolve(m.result ?? {});
  }

  /** The connection closed: every query still waiting fails at once. */
  closeAll(): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      this.waiting.delete(id);
      w.reject(new RelayError(AssistantCode.RelayOffline, 'the relay disconnected before it answered'));
    }
  }
}
