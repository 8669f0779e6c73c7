// The hub API's responses held to openapi.json: every request the shared helpers make (`hubFetch`,
// RelayEnv.api) has its answer's status, headers and body checked against the operation it matched
// (openapi-routes.ts), with ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
import assert from 'node:assert/strict';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { matchRoute, openApiDoc, type Operation } from './openapi-routes.js';

/** The id under which the document is known to ajv (its `$ref`s resolve inside it). */
const DOC_ID = 'https://imessage-relay.invalid/openapi.json';

/**
 * Keywords of OpenAPI (and ours) that are annotations to a JSON Schema validator: in schemas, and the
 * document's top-level keys (ajv sees the document as a schema whose fragments are referenced).
 */
const ANNOTATIONS = ['xml', 'externalDocs', 'example',
  'openapi', 'info', 'jsonSchemaDialect', 'servers', 'security', 'tags', 'paths', 'webhooks', 'components'];

const hasDiscriminator = (o: Record<string, unknown>): boolean => typeof o['discriminator'] === 'object' && o['discriminator'] !== null;

/**
 * The document as the checks apply it: a discriminator's `mapping` (for OpenAPI tools; ajv does
 * without it) is left out; nothing else changes.
 */
function forAjv(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(forAjv);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = forAjv(v);
  // ajv applies `discriminator` (so a wrong event names only its own kind's problems) but not its `mapping`, which OpenAPI tools use.
  if (hasDiscriminator(out)) delete (out['discriminator'] as Record<string, unknown>)['mapping'];
  return out;
}

/** A strict ajv that knows the document; `strict` refuses unknown keywords, so a typo in a schema fails. */
export function contractAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, strictTypes: false, allErrors: true, discriminator: true, validateFormats: true });
  addFormats.default(ajv); // the CommonJS module itself, whose `default` is the plugin
  ajv.addVocabulary(ANNOTATIONS);
  // The document itself is no schema: only the fragments compiled below are; its other keys are ignored.
  ajv.addSchema({ ...(forAjv(openApiDoc) as object), $id: DOC_ID }, undefined, undefined, false);
  return ajv;
}

let shared: Ajv2020 | null = null;
const compiled = new Map<string, ValidateFunction>();

/** The validator of the schema at `pointer` (a JSON pointer into the document), compiled once. */
export function validatorAt(pointer: string): ValidateFunction {
  let v = compiled.get(pointer);
  if (v === undefined) {
    shared ??= contractAjv();
    v = shared.compile({ $ref: `${DOC_ID}#${pointer}` });
    compiled.set(pointer, v);
  }
  return v;
}

const escape = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Follows a `$ref` inside the document (responses, headers). */
function resolve<T>(node: unknown): { value: T; pointer: string } | null {
  if (node === null || typeof node !== 'object') return null;
  const r = (node as { $ref?: unknown }).$ref;
  if (typeof r !== 'string') return null;
  let at: unknown = openApiDoc;
  for (const part of r.replace(/^#\//, '').split('/')) at = (at as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return { value: at as T, pointer: r.slice(1) };
}

type ResponseObject = {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown }>;
};
type HeaderObject = { required?: boolean; schema?: unknown };

/** Headers any answer may carry without the document naming them (HTTP's own). */
const HTTP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'content-type', 'cache-control']);

/** ajv's errors as one line each: where, what, and the offending name or value. */
function describeErrors(errors: readonly ErrorObject[] | null | undefined, where: string, data: unknown): string {
  const at = (path: string): unknown => path.split('/').slice(1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], data);
  return (errors ?? []).slice(0, 6).map((e) => {
    const p = e.params as Record<string, unknown>;
    const extra = 'allowedValues' in p ? ` (${(p['allowedValues'] as unknown[]).join(', ')}; got ${JSON.stringify(at(e.instancePath))})`
      : 'additionalProperty' in p ? ` ("${String(p['additionalProperty'])}")`
        : 'unevaluatedProperty' in p ? ` ("${String(p['unevaluatedProperty'])}")`
          : ['type', 'pattern', 'format', 'const'].includes(e.keyword) ? ` (got ${JSON.stringify(at(e.instancePath))?.slice(0, 100)})` : '';
    return `${where}${e.instancePath} ${e.message ?? ''}${extra}`;
  }).join('; ');
}

/** A media range of the document matches a response's Content-Type (parameters ignored). */
function mediaMatches(range: string, type: string): boolean {
  const [rt, rs] = range.toLowerCase().split(';')[0]!.trim().split('/');
  const [t, s] = type.toLowerCase().split(';')[0]!.trim().split('/');
  return (rt === '*' || rt === t) && (rs === '*' || rs === s);
}

/**
 * The problems of one answer against one documented response (empty when it conforms).
 * `responsePointer` is the response object's place in the document.
 */
function checkAgainst(responsePointer: string, response: ResponseObject, method: string, res: Response, body: Buffer): string[] {
  const problems: string[] = [];
  const documented = new Set<string>();
  for (const [name, raw] of Object.entries(response.headers ?? {})) {
    const lower = name.toLowerCase();
    documented.add(lower);
    if (lower === 'content-type') continue; // OpenAPI: described by `content`, not here
    const r = resolve<HeaderObject>(raw);
    const header = r?.value ?? (raw as HeaderObject);
    const headerPointer = r?.pointer ?? `${responsePointer}/headers/${escape(name)}`;
    const value = res.headers.get(lower);
    if (value === null) {
      if (header.required === true) problems.push(`header ${name} is missing`);
      continue;
    }
    if (header.schema !== undefined) {
      const v = validatorAt(`${headerPointer}/schema`);
      if (!v(value)) problems.push(`header ${name}: ${describeErrors(v.errors, '', value)}`);
    }
  }
  for (const [name] of res.headers) {
    if (!HTTP_HEADERS.has(name) && !documented.has(name)) problems.push(`header ${name} is not in the document`);
  }
  const type = res.headers.get('content-type');
  const content = response.content;
  if (content === undefined) {
    if (body.length > 0) problems.push(`a body (${body.length} bytes) where the document describes none`);
    return problems;
  }
  const range = type === null ? undefined : Object.keys(content).find((r) => mediaMatches(r, type));
  if (range === undefined) {
    problems.push(`Content-Type ${JSON.stringify(type)} is not one of ${Object.keys(content).join(', ')}`);
    return problems;
  }
  const schema = content[range]!.schema;
  if (method === 'head' || schema === undefined || !/json/i.test(range)) return problems;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    problems.push(`the body is not JSON: ${body.toString('utf8').slice(0, 200)}`);
    return problems;
  }
  const v = validatorAt(`${responsePointer}/content/${escape(range)}/schema`);
  if (!v(value)) problems.push(`body: ${describeErrors(v.errors, 'body', value)}`);
  return problems;
}

/** The documented response for `status` in `responses` (exact, then `4XX`-style, then `default`). */
function responseFor(responses: Readonly<Record<string, unknown>>, status: number): string | null {
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => responses[k] !== undefined);
  return key ?? null;
}

/** The status of each answer to an undocumented request (components.responses). */
const NO_ROUTE_STATUS: Readonly<Record<string, number>> = { NoRoute: 404, MethodNotAllowed: 405, Unauthorized: 401 };

/**
 * Checks one answer of the hub's API against the document; throws an AssertionError naming the
 * route, the status and what does not conform. Reads a clone: `res` is left unread for the caller.
 * @param url the URL as requested (its path decides the route).
 */
export async function checkHubResponse(method: string, url: string, res: Response): Promise<void> {
  const m = method.toLowerCase();
  const body = m === 'head' ? Buffer.alloc(0) : Buffer.from(await res.clone().arrayBuffer());
  const pathname = new URL(url).pathname;
  const route = matchRoute(m, pathname);
  const fail = (what: string, problems: readonly string[]): never => {
    throw new assert.AssertionError({
      message: `OpenAPI contract: ${method.toUpperCase()} ${pathname} (${what}) answered ${res.status}: ${problems.join('; ')}\n  body: ${body.toString('utf8').slice(0, 300)}`,
    });
  };
  if (route === null || route.operation === null) {
    // Not a documented operation: only "no such route" answers (or a 401 for any /v1 path without the token).
    const allowed = route === null ? ['NoRoute', 'Unauthorized'] : ['NoRoute', 'MethodNotAllowed', 'Unauthorized'];
    const what = route === null ? 'no documented path' : `${route.template} has no ${method.toUpperCase()}`;
    const tries = allowed.map((name) => {
      const pointer = `/components/responses/${name}`;
      const r = resolve<ResponseObject>({ $ref: `#${pointer}` })!;
      const status = NO_ROUTE_STATUS[name];
      return status === res.status ? checkAgainst(pointer, r.value, m, res, body) : [`not ${name} (${status})`];
    });
    if (!tries.some((p) => p.length === 0)) fail(what, tries.flat());
    return;
  }
  const op: Operation = route.operation;
  const key = responseFor(op.responses, res.status);
  const opPointer = `/paths/${escape(route.template)}/${m}`;
  if (key === null) fail(`${route.template}`, [`status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`]);
  const raw = op.responses[key!];
  const r = resolve<ResponseObject>(raw);
  const problems = checkAgainst(r?.pointer ?? `${opPointer}/responses/${key!}`, r?.value ?? (raw as ResponseObject), m, res, body);
  if (problems.length > 0) fail(route.template, problems);
}

/** fetch() for the hub's API whose answer is checked against openapi.json before it is returned. */
export async function hubFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, init);
  await checkHubResponse(init.method ?? 'GET', url, res);
  return res;
}
