// The hub's `assistant` section: built-in replies from an OpenAI-compatible model (README "Built-in
// replies"). The API key comes from MODEL_API_KEY, `apiKeyEnv` or a 0600 `apiKeyFile`, never the config.
import { readSecret } from './load.js';
import type { ConfigNode } from './validate.js';

export interface AssistantConfig {
  readonly enabled: boolean;
  /** Any chat-completions server: `https://api.openai.com/v1`, a local llama.cpp or vLLM, OpenRouter… */
  readonly baseUrl: string;
  readonly model: string;
  readonly systemPrompt: string;
  readonly apiKey: string;
  /** Deadline of one model request (each attempt). */
  readonly timeoutMs: number;
  /** Further attempts after a 429, a 5xx or a connection failure. */
  readonly retries: number;
  /** A `Retry-After` longer than this is cut to it (and the wait never exceeds it). */
  readonly maxRetryAfterMs: number;
  /** Model requests per second at most, across all chats. */
  readonly requestsPerSecond: number;
  /** Messages of a chat (the user's and the replies) given to the model. */
  readonly maxHistory: number;
  /** Handles and chats (guid or identifier) answered; empty = everyone. */
  readonly allow: readonly string[];
  /** Sent once to a chat outside `allow`; null = say nothing. */
  readonly notAllowedReply: string | null;
  /** The assistant's name: in a group it answers only when this word, or a mention of `handles`, is in the message. */
  readonly name: string;
  /** The account's own addresses (a mention of one addresses the assistant). */
  readonly handles: readonly string[];
  /** Images the user sent go to the model as image inputs. */
  readonly vision: boolean;
  /** Larger images are left out. */
  readonly maxImageBytes: number;
  /** How long an image's bytes are waited for after its message. */
  readonly imageWaitMs: number;
  /** Sent instead of silence when the model fails, at most once per `apologyMinutes` per chat; null = silence. */
  readonly apologyText: string | null;
  readonly apologyMinutes: number;
  /** Failed replies in a row that turn the hub's health `degraded`. */
  readonly failureThreshold: number;
}

export const DEFAULT_SYSTEM_PROMPT = 'You are a helpful assistant answering iMessage conversations. Answer briefly, in plain text.';
export const DEFAULT_APOLOGY = "Sorry, I can't answer right now. Please try again in a few minutes.";

/** Handles compare without case for e-mail addresses (as Messages does). */
export const normaliseHandle = (h: string): string => (h.includes('@') ? h.toLowerCase() : h);

/** Parses `assistant`; null when the section is absent or `enabled` is false. */
export function parseAssistant(node: ConfigNode, file: string, env: NodeJS.ProcessEnv): AssistantConfig | null {
  node.only(['enabled', 'baseUrl', 'model', 'systemPrompt', 'apiKeyFile', 'apiKeyEnv', 'timeoutMs', 'retries', 'maxRetryAfterMs',
    'requestsPerSecond', 'maxHistory', 'allow', 'notAllowedReply', 'name', 'handles', 'vision', 'maxImageBytes', 'imageWaitMs',
    'apologyText', 'apologyMinutes', 'failureThreshold']);
  if (!node.boolean('enabled', false)) return null;
  const baseUrl = node.string('baseUrl');
  if (!/^https?:\/\/[^/]/.test(baseUrl)) node.fail('baseUrl', 'an http:// or https:// URL of a chat-completions API (e.g. https://api.openai.com/v1)', baseUrl);
  const apiKey = readSecret(node, 'apiKey', file, env) ?? (env['MODEL_API_KEY'] || null)
    ?? node.fail('apiKeyFile', 'set (a file of mode 0600), or apiKeyEnv, or MODEL_API_KEY in the environment (any value for a server without keys)');
  const list = (k: string): readonly string[] => (node.has(k) ? node.strings(k, []) : []);
  const text = (k: string, fallback: string | null): string | null => {
    if (!node.has(k)) return fallback;
    return node.optionalString(k);
  };
  return {
    enabled: true, baseUrl, apiKey,
    model: node.string('model'),
    systemPrompt: node.string('systemPrompt', DEFAULT_SYSTEM_PROMPT),
    timeoutMs: node.number('timeoutMs', 60_000, { min: 100, integer: true }),
    retries: node.number('retries', 2, { min: 0, max: 10, integer: true }),
    maxRetryAfterMs: node.number('maxRetryAfterMs', 30_000, { min: 0, integer: true }),
    requestsPerSecond: node.number('requestsPerSecond', 10, { min: 0.01 }),
    maxHistory: node.number('maxHistory', 20, { min: 1, max: 500, integer: true }),
    allow: list('allow').map(normaliseHandle),
    notAllowedReply: text('notAllowedReply', null),
    name: node.string('name', 'Assistant'),
    handles: list('handles').map(normaliseHandle),
    vision: node.boolean('vision', false),
    maxImageBytes: node.number('maxImageBytes', 5 * 1024 * 1024, { min: 1, integer: true }),
    imageWaitMs: node.number('imageWaitMs', 10_000, { min: 0, integer: true }),
    apologyText: text('apologyText', DEFAULT_APOLOGY),
    apologyMinutes: node.number('apologyMinutes', 10, { min: 0 }),
    failureThreshold: node.number('failureThreshold', 3, { min: 1, integer: true }),
  };
}
