// Matching a hub API request to its operation in openapi.json: path templates (`{name}` is one
// path segment) and the method. The path is split as the hub splits it (empty segments dropped).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's OpenAPI document (what the hub serves at GET /v1/openapi.json). */
export const OPENAPI_FILE = fileURLToPath(new URL('../../openapi.json', import.meta.url));

export type OpenApiDoc = {
  readonly openapi: string;
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
} & Readonly<Record<string, unknown>>;

/** The document as parsed from the file (read once). */
export const openApiDoc: OpenApiDoc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDoc;

export const HTTP_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'] as const;

export interface Operation {
  readonly operationId: string;
  readonly responses: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** What a request matched: the path template and, when the method is documented for it, the operation. */
export interface RouteMatch {
  /** The documented path, e.g. `/v1/messages/{id}`. */
  readonly template: string;
  readonly method: string;
  /** null: the path is documented but not for this method. */
  readonly operation: Operation | null;
  /** The path parameters, still percent-encoded as sent. */
  readonly params: Readonly<Record<string, string>>;
}

const segments = (path: string): string[] => path.split('/').filter((s) => s !== '');

const templates = Object.keys(openApiDoc.paths).map((template) => ({ template, parts: segments(template) }))
  // A literal segment wins over a parameter at the same place (as OpenAPI says).
  .sort((a, b) => a.parts.filter((p) => p.startsWith('{')).length - b.parts.filter((p) => p.startsWith('{')).length);

/**
 * The documented route of `method` `pathname` (the raw path, without the query), or null when no
 * documented path template matches it.
 */
export function matchRoute(method: string, pathname: string): RouteMatch | null {
  const given = segments(pathname);
  for (const { template, parts } of templates) {
    if (parts.length !== given.length) continue;
    const params: Record<string, string> = {};
    const ok = parts.every((p, i) => {
      if (p.startsWith('{') && p.endsWith('}')) { params[p.slice(1, -1)] = given[i]!; return true; }
      return p === given[i];
    });
    if (!ok) continue;
    const m = method.toLowerCase();
    const op = openApiDoc.paths[template]![m] as Operation | undefined;
    return { template, method: m, operation: op ?? null, params };
  }
  return null;
}

/** Every documented operation: template, method and the operation. */
export function operations(): Array<{ template: string; method: string; operation: Operation }> {
  return Object.entries(openApiDoc.paths).flatMap(([template, item]) =>
    HTTP_METHODS.filter((m) => item[m] !== undefined).map((method) => ({ template, method, operation: item[method] as Operation })));
}
