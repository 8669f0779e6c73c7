// The one module that speaks to the model: the official `openai` client pointed at any
// chat-completions server by `baseURL`. Our own retry loop (the client's is off) retries 429, 5xx and
// connection failures, waiting what `Retry-After` says (bounded), and maps every failure to a code.
import OpenAI from 'openai';
import { RelayError } from '../errors.js';
import { sleep, type RequestRate } from './rate-limit.js';

/** One message of a chat-completions request (the openai client's type). */
export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** What each attempt came to (for metrics): ok, retry (it failed and another follows), error, aborted. */
export type AttemptResult = 'ok' | 'retry' | 'error' | 'aborted';

export interface ModelClientDeps {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly model: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly maxRetryAfterMs: number;
  readonly rate: RequestRate;
  readonly onAttempt?: (result: AttemptResult, code: string | null) => void;
}

interface Classified {
  readonly error: RelayError;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
}

/** `Retry-After` (seconds or an HTTP date) or `retry-after-ms`, in ms; null when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | null {
  const ms = headers?.get('retry-after-ms');
  if (ms != null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const v = headers?.get('retry-after');
  if (v == null || v.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function classify(err: unknown): Classified {
  if (err instanceof RelayError) return { error: err, retryable: false, retryAfterMs: null };
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return { error: new RelayError('ASSISTANT_MODEL_TIMEOUT', 'the model did not answer within assistant.timeoutMs', {}), retryable: false, retryAfterMs: null };
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return { error: new RelayError('ASSISTANT_MODEL_UNREACHABLE', `cannot reach the model server: ${err.message}`, {}, { cause: err }), retryable: true, retryAfterMs: null };
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const status = err.status;
    const code = status === 429 ? 'ASSISTANT_MODEL_RATE_LIMITED' : 'ASSISTANT_MODEL_HTTP';
    return {
      error: new RelayError(code, `the model server answered HTTP ${status}`, { status }, { cause: err }),
      retryable: status === 429 || status >= 500, retryAfterMs: retryAfterMs(err.headers),
    };
  }
  // A body that is not JSON, or not a chat completion.
  return { error: new RelayError('ASSISTANT_MODEL_BAD_RESPONSE', `the model server's answer does not read as a chat completion: ${(err as Error).message}`, {}, { cause: err }), retryable: false, retryAfterMs: null };
}

/** The reply text of a completion; @throws RelayError ASSISTANT_MODEL_BAD_RESPONSE when there is none. */
export function replyText(res: unknown): string {
  const choices = (res as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) throw new RelayError('ASSISTANT_MODEL_BAD_RESPONSE', 'the model answered with no choice', {});
  const content = (choices[0] as { message?: { content?: unknown } } | null)?.message?.content;
  if (typeof content !== 'string' || content.trim() === '') throw new RelayError('ASSISTANT_MODEL_BAD_RESPONSE', 'the model answered with an empty message', {});
  return content.trim();
}

/** Chat completions from one model, with our retries and the request rate applied. */
export class ModelClient {
  private readonly client: OpenAI;

  constructor(private readonly deps: ModelClientDeps) {
    this.client = new OpenAI({ baseURL: deps.baseUrl, apiKey: deps.apiKey, maxRetries: 0, timeout: deps.timeoutMs, logLevel: 'off' });
  }

  /**
   * One reply for `messages`. Rejects with the signal's reason when aborted (a newer message came).
   * @throws RelayError ASSISTANT_MODEL_TIMEOUT, ASSISTANT_MODEL_UNREACHABLE, ASSISTANT_MODEL_RATE_LIMITED,
   *   ASSISTANT_MODEL_HTTP, ASSISTANT_MODEL_BAD_RESPONSE (after the retries).
   */
  async complete(messages: ChatMessage[], signal: AbortSignal): Promise<string> {
    const { deps } = this;
    for (let attempt = 0; ; attempt++) {
      await deps.rate.take(signal);
      try {
        const res = await this.client.chat.completions.create({ model: deps.model, messages }, { signal, timeout: deps.timeoutMs, maxRetries: 0 });
        const text = replyText(res);
        deps.onAttempt?.('ok', null);
        return text;
      } catch (err) {
        if (signal.aborted) {
          deps.onAttempt?.('aborted', null);
          throw signal.reason;
        }
        const c = classify(err);
        if (!c.retryable || attempt >= deps.retries) {
          deps.onAttempt?.('error', c.error.code);
          throw c.error;
        }
        deps.onAttempt?.('retry', c.error.code);
        const backoff = 500 * 2 ** attempt;
        await sleep(Math.min(c.retryAfterMs ?? backoff, deps.maxRetryAfterMs), signal);
      }
    }
  }
}
