// Checks of request params (contract §4): each returns the value or throws -32602 with an
// explanation naming the parameter.
import { invalidParams } from './rpc-error.js';

type Params = Readonly<Record<string, unknown>>;

/** An optional integer (`fallback` when absent or null). */
export function optInt(p: Params, key: string, fallback: number | undefined): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidParams(`${key} must be an integer`);
  return v;
}

/** An optional boolean. */
export function optBool(p: Params, key: string, fallback: boolean): boolean {
  const v = p[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalidParams(`${key} must be true or false`);
  return v;
}

/** An optional string (undefined when absent or null). */
export function optString(p: Params, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParams(`${key} must be a string`);
  return v;
}

/** An optional ISO 8601 date, returned normalised; an unparseable value is an error (§4.2). */
export function optIsoDate(p: Params, key: string): string | undefined {
  const v = optString(p, key);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw invalidParams(`${key} must be an ISO 8601 date`);
  return new Date(t).toISOString();
}

/** An optional array of strings. */
export function optStrings(p: Params, key: string): string[] | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidParams(`${key} must be an array of strings`);
  return v as string[];
}
