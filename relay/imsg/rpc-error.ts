// JSON-RPC 2.0 error objects of the command (contract §3.4): the codes, their standard messages, and
// the `not_started` data OpenClaw reads as "nothing was sent, safe to retry".

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

const MESSAGES: Record<number, string> = {
  [PARSE_ERROR]: 'Parse error', [INVALID_REQUEST]: 'Invalid Request', [METHOD_NOT_FOUND]: 'Method not found',
  [INVALID_PARAMS]: 'Invalid params', [INTERNAL_ERROR]: 'Internal error',
};

/** `data` of a send that certainly never left the hub (the Mac never got it). */
export const NOT_STARTED = { disposition: 'not_started', retry_safe: true } as const;

/** A failed request: becomes `{"code","message","data"}` in the answer. */
export class RpcError extends Error {
  constructor(readonly code: number, readonly data: string | Readonly<Record<string, unknown>>, message?: string) {
    super(message ?? MESSAGES[code] ?? 'Internal error');
    this.name = 'RpcError';
  }

  toJSON(): { code: number; message: string; data: unknown } {
    return { code: this.code, message: this.message, data: this.data };
  }
}

/** -32602 with an explanation. */
export const invalidParams = (why: string): RpcError => new RpcError(INVALID_PARAMS, why);

/** -32603 with an explanation. */
export const internal = (why: string): RpcError => new RpcError(INTERNAL_ERROR, why);
