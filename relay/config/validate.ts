// A small reader for JSON config objects: each getter names the key path and what was expected,
// so a bad config fails at start with an error an admin can act on.
import { RelayError } from '../errors.js';

export const ConfigCode = { Invalid: 'CONFIG_INVALID', Missing: 'CONFIG_MISSING', Unreadable: 'CONFIG_UNREADABLE' } as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A view on one object in the config, with its key path for messages. */
export class ConfigNode {
  constructor(private readonly value: Record<string, Json>, readonly path: string, private readonly file: string) {}

  static root(value: unknown, file: string): ConfigNode {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new RelayError(ConfigCode.Invalid, `${file}: the config must be a JSON object`, { file });
    }
    return new ConfigNode(value as Record<string, Json>, '', file);
  }

  private key(k: string): string {
    return this.path === '' ? k : `${this.path}.${k}`;
  }

  fail(k: string, expected: string, got?: unknown): never {
    const shown = got === undefined ? 'nothing' : JSON.stringify(got);
    throw new RelayError(ConfigCode.Invalid, `${this.file}: "${this.key(k)}" must be ${expected}; got ${shown}`, { file: this.file, key: this.key(k) });
  }

  /** Keys present in this object that the schema does not know: refused, to catch typos. */
  only(known: readonly string[]): void {
    for (const k of Object.keys(this.value)) {
      if (!known.includes(k)) this.fail(k, `one of the known keys (${known.join(', ')}); unknown key`, this.value[k]);
    }
  }

  has(k: string): boolean {
    return this.value[k] !== undefined;
  }

  string(k: string, fallback?: string): string {
    const v = this.value[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') this.fail(k, 'a non-empty string', v);
    return v;
  }

  optionalString(k: string): string | null {
    return this.value[k] === undefined || this.value[k] === null ? null : this.string(k);
  }

  number(k: string, fallback: number, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
    const v = this.value[k];
    if (v === undefined) return fallback;
    const ok = typeof v === 'number' && Number.isFinite(v) && (opts.integer !== true || Number.isInteger(v))
      && (opts.min === undefined || v >= opts.min) && (opts.max === undefined || v <= opts.max);
    if (!ok) {
      const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
      this.fail(k, `${opts.integer === true ? 'a whole number' : 'a number'}${range === '' ? '' : ` ${range}`}`, v);
    }
    return v as number;
  }

  /** A non-empty array of non-empty strings (an argv). */
  strings(k: string, fallback: readonly string[]): readonly string[] {
    const v = this.value[k];
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) this.fail(k, 'a non-empty array of non-empty strings', v);
    return v as string[];
  }

  /** One argv, or a list of argvs run one after the other (normalised to a list); null when absent. */
  commands(k: string): readonly (readonly string[])[] | null {
    const v = this.value[k];
    if (v === undefined || v === null) return null;
    const argv = (x: unknown): x is string[] => Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string' && s !== '');
    if (argv(v)) return [v];
    if (Array.isArray(v) && v.length > 0 && v.every(argv)) return v as string[][];
    return this.fail(k, 'an argv (a non-empty array of non-empty strings) or a non-empty array of argvs', v);
  }

  boolean(k: string, fallback: boolean): boolean {
    const v = this.value[k];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(k, 'true or false', v);
    return v;
  }

  object(k: string): ConfigNode {
    const v = this.value[k];
    if (v === undefined) return new ConfigNode({}, this.key(k), this.file);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(k, 'an object', v);
    return new ConfigNode(v, this.key(k), this.file);
  }

  array(k: string): ConfigNode[] {
    const v = this.value[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(k, 'an array', v);
    return v.map((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) this.fail(`${k}[${i}]`, 'an object', item);
      return new ConfigNode(item, `${this.key(k)}[${i}]`, this.file);
    });
  }
}
