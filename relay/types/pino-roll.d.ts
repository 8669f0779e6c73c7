// pino-roll ships no types: the part of its API the logger uses.
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';

  interface RollOptions {
    file: string;
    frequency?: 'daily' | 'hourly' | number;
    size?: string | number;
    mkdir?: boolean;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    /** Passed to sonic-boom: the mode each log file is created with. */
    mode?: number;
  }

  /** A sonic-boom stream: it emits 'ready' once its file is open. */
  export default function roll(options: RollOptions): Promise<DestinationStream & { once(event: 'ready', listener: () => void): unknown }>;
}
