// What the assistant API needs of the relays' live connections: whether one is connected, asking it a
// link query, and how far its commands have gone out (hub.ts implements it over its sessions).

export interface RelayAccess {
  /** True while the account's relay has a proven, welcomed link. */
  connected(account: string): boolean;
  /**
   * Asks the account's relay a read-only query (PROTOCOL.md §4.3).
   * @throws RelayError RELAY_OFFLINE, QUERY_UNSUPPORTED, QUERY_TIMEOUT, QUERY_FAILED (the relay's code in `details.relay_code`)
   */
  query(account: string, q: string, params: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>>;
  /** The highest command seq this hub process has sent to the account's relay (0: none). */
  sentUpTo(account: string): number;
}

/** How long the API waits for a relay's answer before it answers from the hub's own store. */
export const QUERY_TIMEOUT_MS = 3000;
