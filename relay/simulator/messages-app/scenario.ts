// What a test tells the fake Messages: its state and how the next sends turn out.

export type Outcome = 'delivered' | 'sent' | 'error:22' | 'ghost' | 'dropped';

export interface Scenario {
  /** The test chat.db the fake writes its rows into. */
  readonly chatDb: string;
  /** Automation permission: denied → -1743; undetermined → the event blocks (the caller's timeout kills it). */
  readonly tcc?: 'allowed' | 'denied' | 'undetermined';
  /** Messages running? When false and `launchFails`, events fail with -600. */
  readonly running?: boolean;
  readonly launchFails?: boolean;
  /** Chats the scripting layer knows (ids); a chat in chat.db but missing here gives -1728. Absent: every chat in chat.db. */
  readonly chats?: readonly string[];
  /** Chat ids that resolve to a phantom target: the send "succeeds" and writes a ghost row (macOS 26). */
  readonly phantomChats?: readonly string[];
  readonly accounts?: ReadonlyArray<'iMessage' | 'SMS' | 'RCS'>;
  /** Every account signed out: its connection status is "disconnected" (default connected). */
  readonly signedOut?: boolean;
  /** How sends turn out (default delivered). */
  readonly outcome?: Outcome;
  /** The send command takes this long before answering (a slow Messages). */
  readonly sendDelayMs?: number;
  /** Hang forever in `send` (after or before writing the row). */
  readonly hang?: 'before-row' | 'after-row';
  /** When the row moves on after the script exits. */
  readonly sentAfterMs?: number;
  readonly finalAfterMs?: number;
  /** Where each accepted send is appended as a JSON line (for assertions). */
  readonly sendLog?: string;
  /** Unrelated rows (an iCloud sync, a busy group: inbound and from-me, in another chat) written just before each send's row. */
  readonly noiseBefore?: number;
  /**
   * Inside `send`, before or after writing the row, append `{"pid", "at", "text"}` as a line to
   * `signalFile` (so a test can kill -9 the relay at that exact moment), then hold there until
   * `releaseFile` exists (at most two minutes).
   */
  readonly signalFile?: string;
  readonly signalAt?: 'before-row' | 'after-row';
  readonly releaseFile?: string;
  /** Files Messages can read (its sandbox, e.g. ~/Library/Messages); others fail with error 25. Absent: any existing file. */
  readonly readableRoot?: string;
}
