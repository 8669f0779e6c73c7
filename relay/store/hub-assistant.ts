// What the built-in assistant keeps in the hub's store: per chat, the last message answered (moved in
// the same transaction that queues the reply, so a restart never answers twice) and when the chat was
// last sent an apology or the not-allowed notice; the seq up to which events were looked at; and a
// chat's recent conversation, read from the stored events.
import type { Db } from './database.js';
import type { CommandRow, HubCommands } from './hub-commands.js';
import type { Tx } from './hub-store.js';

/** Why the assistant writes into a chat: an answer, an apology for a failed one, the not-allowed notice. */
export type ReplyKind = 'answer' | 'apology' | 'notice';

/** The message a reply answers (its hub seq, event id and Apple guid). */
export interface Answered {
  readonly seq: number;
  readonly id: string;
  readonly guid: string;
}

export interface AssistantChatState {
  readonly answeredSeq: number;
  readonly noticeAt: number | null;
  readonly apologyAt: number | null;
}

/** The idempotency key of a reply: one per answered message and kind, so a repeat queues nothing. */
export const replyKey = (kind: ReplyKind, eventId: string): string => `assistant:${kind}:${eventId}`;

export class HubAssistant {
  private readonly s;

  constructor(db: Db, private readonly tx: Tx, private readonly now: () => number, private readonly commands: HubCommands) {
    this.s = {
      chat: db.prepare('SELECT answered_seq AS answeredSeq, notice_at AS noticeAt, apology_at AS apologyAt FROM assistant_chats WHERE account = ? AND chat_guid = ?'),
      answered: db.prepare(`INSERT INTO assistant_chats (account, chat_guid, answered_seq) VALUES (?, ?, ?)
        ON CONFLICT(account, chat_guid) DO UPDATE SET answered_seq = MAX(answered_seq, excluded.answered_seq)`),
      notice: db.prepare('UPDATE assistant_chats SET notice_at = ? WHERE account = ? AND chat_guid = ?'),
      apology: db.prepare('UPDATE assistant_chats SET apology_at = ? WHERE account = ? AND chat_guid = ?'),
      cursor: db.prepare('SELECT seq FROM assistant_cursor WHERE id = 1').pluck(),
      setCursor: db.prepare('INSERT INTO assistant_cursor (id, seq) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq'),
      history: db.prepare(`SELECT seq, body FROM events WHERE account = ? AND chat_guid = ? AND kind IN ('message', 'from_me', 'edit', 'unsend')
        ORDER BY seq DESC LIMIT ?`),
    };
  }

  chat(account: string, chatGuid: string): AssistantChatState {
    return (this.s.chat.get(account, chatGuid) as AssistantChatState | undefined) ?? { answeredSeq: 0, noticeAt: null, apologyAt: null };
  }

  /**
   * Queues `text` into the chat through the command path of the API (one send command, idempotency key
   * from the answered message) and records the message as answered, in one transaction.
   * @throws RelayError STORE_* when the write fails (nothing queued, nothing recorded).
   */
  reply(account: string, chatGuid: string, answered: Answered, kind: ReplyKind, text: string): { command: CommandRow; created: boolean } {
    return this.tx(() => {
      const body = { kind: 'send', text, chat_guid: chatGuid, handle: null, service: null, answers: answered.guid };
      const { commands, created } = this.commands.createSends(account, [{ body }], replyKey(kind, answered.id));
      this.s.answered.run(account, chatGuid, answered.seq);
      if (kind === 'notice') this.s.notice.run(this.now(), account, chatGuid);
      if (kind === 'apology') this.s.apology.run(this.now(), account, chatGuid);
      return { command: commands[0]!, created };
    });
  }

  /** Records messages up to `seq` as dealt with, without a reply (a failure when no apology is due). */
  markAnswered(account: string, chatGuid: string, seq: number): void {
    this.tx(() => this.s.answered.run(account, chatGuid, seq));
  }

  /** Seq of the last event the assistant has dealt with; null before its first start. */
  cursor(): number | null {
    const v = this.s.cursor.get();
    return v === undefined || v === null ? null : Number(v);
  }

  setCursor(seq: number): void {
    this.tx(() => this.s.setCursor.run(seq));
  }

  /** The chat's latest `limit` messages, replies, edits and unsends (event JSON), oldest first. */
  history(account: string, chatGuid: string, limit: number): Array<{ seq: number; event: Record<string, unknown> }> {
    const rows = this.s.history.all(account, chatGuid, limit) as Array<{ seq: number; body: string }>;
    return rows.reverse().map((r) => ({ seq: r.seq, event: JSON.parse(r.body) as Record<string, unknown> }));
  }
}
