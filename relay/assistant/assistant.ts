// The built-in assistant inside the hub: takes events as they are stored, decides (policy.ts), and
// answers each chat with one model request in flight at a time; a message that arrives meanwhile
// aborts it and the next request sees it too (a burst gets one answer). The reply is queued through
// the API's exactly-once command path, keyed by the message it answers, and recorded as answered in the
// same transaction; after a restart, the events after the stored cursor are looked at again.
import type { Clock } from '../clock.js';
import type { AssistantConfig } from '../config/assistant-config.js';
import { asRelayError, type RelayError } from '../errors.js';
import type { Metrics } from '../health/metrics.js';
import type { ComponentHealth } from '../health/report.js';
import type { HandleAnonymiser, Logger } from '../logger.js';
import type { Answered, ReplyKind } from '../store/hub-assistant.js';
import type { HubEvent } from '../store/hub-events.js';
import type { HubStore } from '../store/hub-store.js';
import { apologyDue, FailureTracker } from './failures.js';
import { buildHistory } from './history.js';
import { loadImages, type ImageLookup } from './images.js';
import { ModelClient } from './model-client.js';
import { decide } from './policy.js';
import { buildMessages, unanswered } from './prompt.js';
import { RequestRate } from './rate-limit.js';

/** What the assistant needs from the hub. */
export interface AssistantDeps {
  readonly config: AssistantConfig;
  readonly store: HubStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly anon: HandleAnonymiser;
  /** An incoming attachment's bytes as the hub holds them (vision). */
  readonly image: (account: string, guid: string) => ImageLookup;
  /** A reply was queued for `account`: push it to the relay. */
  readonly onCommand: (account: string) => void;
}

interface ChatRun {
  readonly account: string;
  readonly chatGuid: string;
  readonly isGroup: boolean;
  /** The newest message to answer. */
  latest: Answered;
  /** Lowest seq not yet dealt with in this chat (for the cursor). */
  firstSeq: number;
  controller: AbortController | null;
}

const CURSOR_WRITE_MS = 200;

/** The built-in assistant of one hub (only the hub constructs it; `start` after the store is open, `stop` before it closes). */
export class Assistant {
  private readonly chats = new Map<string, ChatRun>();
  private readonly runs = new Set<Promise<void>>();
  private readonly model: ModelClient;
  private readonly failures: FailureTracker;
  private fileWaiters = new Set<() => void>();
  private seen = 0;
  private savedCursor = 0;
  /** Lowest seq of a chat whose reply could not be queued (store failure): the cursor stays below it until a restart. */
  private floor = Infinity;
  private cursorTimer: unknown = null;
  private stopped = false;

  constructor(private readonly deps: AssistantDeps) {
    const { config: c, metrics: m } = deps;
    m.counter('assistant_prompts_total', 'Incoming messages the assistant looked at, by decision (answer, not_allowed, backlog, not_addressed, empty, no_chat)', ['decision']);
    m.counter('assistant_model_requests_total', 'Model request attempts, by result (ok, retry, error, aborted)', ['result']);
    m.counter('assistant_replies_total', 'Replies queued by the assistant, by kind (answer, apology, notice)', ['kind']);
    m.counter('assistant_failures_total', 'Replies the model failed to give, by error code', ['code']);
    m.gauge('assistant_chats_in_flight', 'Chats with a model request in flight or waiting', () => this.chats.size);
    this.failures = new FailureTracker(c.failureThreshold);
    this.model = new ModelClient({
      baseUrl: c.baseUrl, apiKey: c.apiKey, model: c.model, timeoutMs: c.timeoutMs, retries: c.retries, maxRetryAfterMs: c.maxRetryAfterMs,
      rate: new RequestRate(c.requestsPerSecond),
      onAttempt: (result) => m.inc('assistant_model_requests_total', 1, { result }),
    });
  }

  /**
   * Looks again at what was stored after the cursor (a restart mid-reply answers it now, once). The
   * first start ever begins at the newest event: what the hub held before the assistant was turned
   * on is never answered.
   */
  start(): void {
    const { store } = this.deps;
    let cursor = store.assistant.cursor();
    if (cursor === null) {
      cursor = store.events.maxSeq();
      store.assistant.setCursor(cursor);
    }
    this.savedCursor = cursor;
    this.seen = cursor;
    for (;;) {
      const events = this.deps.store.events.after(this.seen, 1000);
      if (events.length === 0) break;
      this.offer(events);
    }
    this.deps.logger.info({ model: this.deps.config.model, cursor: this.savedCursor, chats: this.chats.size }, 'assistant started');
  }

  /**
   * Saves the cursor below every chat still waiting, then aborts what is in flight: it is answered
   * after the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.cursorTimer !== null) this.deps.clock.clearTimeout(this.cursorTimer);
    this.saveCursor();
    for (const c of this.chats.values()) c.controller?.abort();
    await Promise.allSettled([...this.runs]);
  }

  health(): ComponentHealth {
    return this.failures.health(this.deps.config.model);
  }

  /** An incoming attachment's state changed (an image being waited for may be ready). */
  filesChanged(): void {
    const all = [...this.fileWaiters];
    this.fileWaiters = new Set();
    for (const w of all) w();
  }

  /** Events just stored (in seq order). */
  offer(events: readonly HubEvent[]): void {
    if (this.stopped) return;
    for (const e of events) {
      if (e.seq <= this.seen) continue;
      this.seen = e.seq;
      const d = decide(e.event, this.deps.config);
      if (d.action === 'ignore' && d.reason === 'not_a_message') continue;
      this.deps.metrics.inc('assistant_prompts_total', 1, { decision: d.action === 'ignore' ? d.reason : d.action });
      const chat = e.event['chat'] as { guid: string; is_group: boolean };
      const target: Answered = { seq: e.seq, id: e.id, guid: String(e.event['guid']) };
      if (d.action === 'answer') this.queue(e.account, chat, target);
      else if (d.action === 'not_allowed') this.notice(e.account, chat.guid, target);
    }
    this.scheduleCursor();
  }

  private queue(account: string, chat: { guid: string; is_group: boolean }, target: Answered): void {
    const key = `${account}\u0000${chat.guid}`;
    const run = this.chats.get(key);
    if (run !== undefined) {
      run.latest = target;
      run.controller?.abort(); // one request per chat: the next one sees this message too
      return;
    }
    const fresh: ChatRun = { account, chatGuid: chat.guid, isGroup: chat.is_group, latest: target, firstSeq: target.seq, controller: null };
    this.chats.set(key, fresh);
    const p = this.run(fresh).catch((err: unknown) => {
      // A store read failed: this chat waits for the next start (the cursor stays below it).
      this.floor = Math.min(this.floor, fresh.firstSeq);
      this.deps.logger.error({ account, chat: this.deps.anon.chat(chat.guid), err: (err as Error).message }, 'assistant: answering this chat failed; it is tried again after a restart');
    }).finally(() => {
      this.chats.delete(key);
      this.runs.delete(p);
      this.scheduleCursor();
    });
    this.runs.add(p);
  }

  private notice(account: string, chatGuid: string, target: Answered): void {
    const text = this.deps.config.notAllowedReply;
    try {
      if (text === null || this.deps.store.assistant.chat(account, chatGuid).noticeAt !== null) return;
      this.reply(account, chatGuid, target, 'notice', text);
    } catch (err) {
      this.deps.logger.error({ account, chat: this.deps.anon.chat(chatGuid), err: (err as Error).message }, 'assistant: queuing the not-allowed notice failed');
    }
  }

  private reply(account: string, chatGuid: string, target: Answered, kind: ReplyKind, text: string): void {
    const { command, created } = this.deps.store.assistant.reply(account, chatGuid, target, kind, text);
    if (created) {
      this.deps.metrics.inc('assistant_replies_total', 1, { kind });
      this.deps.onCommand(account);
    }
    this.deps.logger.info({ account, chat: this.deps.anon.chat(chatGuid), kind, command: command.id, answers: target.id, replayed: !created }, 'assistant reply queued');
  }

  private waitForFiles(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); this.fileWaiters.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.fileWaiters.add(done);
    });
  }

  private async run(run: ChatRun): Promise<void> {
    const { config: c, store, logger, anon } = this.deps;
    const chat = anon.chat(run.chatGuid);
    while (!this.stopped) {
      const target = run.latest;
      if (store.assistant.chat(run.account, run.chatGuid).answeredSeq >= target.seq) return;
      const controller = new AbortController();
      run.controller = controller;
      const started = performance.now();
      let text: string | null = null;
      let failure: RelayError | null = null;
      try {
        const history = buildHistory(store.assistant.history(run.account, run.chatGuid, c.maxHistory * 3 + 20), c.maxHistory);
        const images = c.vision
          ? await loadImages(run.account, unanswered(history), { lookup: this.deps.image, changed: (ms, s) => this.waitForFiles(ms, s), waitMs: c.imageWaitMs, maxBytes: c.maxImageBytes, maxImages: 8 }, controller.signal)
          : new Map();
        text = await this.model.complete(buildMessages(c.systemPrompt, history, run.isGroup, images), controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) failure = asRelayError(err, 'ASSISTANT_FAILED');
      } finally {
        run.controller = null;
      }
      if (controller.signal.aborted) continue; // a newer message (or the hub is stopping)
      try {
        if (text !== null) {
          this.failures.success();
          this.reply(run.account, run.chatGuid, target, 'answer', text);
          logger.info({ account: run.account, chat, ms: Math.round(performance.now() - started) }, 'assistant answered');
        } else {
          this.fail(run, target, failure!);
        }
      } catch (err) {
        logger.error({ account: run.account, chat, err: (err as Error).message }, 'assistant: queuing the reply failed; it is tried again after a restart');
        this.floor = Math.min(this.floor, run.firstSeq);
        return;
      }
      run.firstSeq = target.seq + 1;
    }
  }

  private fail(run: ChatRun, target: Answered, err: RelayError): void {
    const { config: c, store, clock, logger, metrics, anon } = this.deps;
    this.failures.failure(err, clock.now());
    metrics.inc('assistant_failures_total', 1, { code: err.code });
    const apology = c.apologyText !== null && apologyDue(store.assistant.chat(run.account, run.chatGuid).apologyAt, clock.now(), c.apologyMinutes);
    logger.warn({ account: run.account, chat: anon.chat(run.chatGuid), code: err.code, err: err.message, apology }, 'assistant: the model failed');
    if (apology) this.reply(run.account, run.chatGuid, target, 'apology', c.apologyText!);
    else store.assistant.markAnswered(run.account, run.chatGuid, target.seq);
  }

  /** The cursor: every event up to it is dealt with (the lowest chat still waiting holds it back). */
  private scheduleCursor(): void {
    if (this.cursorTimer !== null || this.stopped) return;
    this.cursorTimer = this.deps.clock.setTimeout(() => { this.cursorTimer = null; this.saveCursor(); }, CURSOR_WRITE_MS);
  }

  private saveCursor(): void {
    let cursor = Math.min(this.seen, this.floor - 1);
    for (const c of this.chats.values()) cursor = Math.min(cursor, c.firstSeq - 1);
    if (cursor <= this.savedCursor) return;
    try {
      this.deps.store.assistant.setCursor(cursor);
      this.savedCursor = cursor;
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'assistant: saving the cursor failed; events after the old one are looked at again after a restart');
    }
  }
}
