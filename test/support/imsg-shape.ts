// OpenClaw's checks of a message object (contract §5): (A) admission and (B) shape, as assertions.
// A message failing (B) is dropped silently by OpenClaw after its cursor moved: unrecoverable.
import assert from 'node:assert/strict';

const STRINGS = ['guid', 'sender', 'text', 'created_at', 'chat_identifier', 'chat_guid', 'chat_name', 'sender_name', 'destination_caller_id',
  'reply_to_guid', 'thread_originator_guid', 'reply_to_text', 'reply_to_sender', 'reaction_type', 'reaction_emoji', 'reacted_to_guid', 'associated_message_guid'];
const BOOLS = ['is_from_me', 'is_group', 'is_reaction', 'is_reaction_add', 'is_tapback'];
const REACTIONS = ['love', 'like', 'dislike', 'laugh', 'emphasis', 'question', 'custom'];

/** Asserts (A) + (B) of §5 and the conventions: no nulls (omitted instead), arrays present, ISO dates with a zone. */
export function assertMessageShape(m: Record<string, unknown>): void {
  const where = `message ${JSON.stringify(m).slice(0, 300)}`;
  assert.ok(typeof m['guid'] === 'string' && m['guid'] !== '', `(A) guid: ${where}`);
  assert.ok(typeof m['id'] === 'number' && Number.isSafeInteger(m['id']) && m['id'] >= 0, `(A) id: ${where}`);
  assert.ok(typeof m['chat_id'] === 'number' && Number.isSafeInteger(m['chat_id']) && m['chat_id'] > 0, `(A) chat_id: ${where}`);
  for (const [k, v] of Object.entries(m)) assert.notEqual(v, null, `${k} is null (omit strings that do not apply): ${where}`);
  for (const k of STRINGS) if (k in m) assert.equal(typeof m[k], 'string', `(B) ${k}: ${where}`);
  for (const k of BOOLS) if (k in m) assert.equal(typeof m[k], 'boolean', `(B) ${k}: ${where}`);
  assert.ok(typeof m['sender'] === 'string' && m['sender'] !== '', `sender required: ${where}`);
  assert.equal(typeof m['is_from_me'], 'boolean', where);
  if ('created_at' in m) assert.match(m['created_at'] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `created_at ISO UTC with ms: ${where}`);
  assert.ok(Array.isArray(m['participants']) && (m['participants'] as unknown[]).every((p) => typeof p === 'string'), `participants: ${where}`);
  assert.ok(Array.isArray(m['attachments']), `attachments array present: ${where}`);
  for (const a of m['attachments'] as Array<Record<string, unknown>>) {
    for (const k of ['original_path', 'mime_type', 'transfer_name', 'uti', 'filename']) if (k in a) assert.equal(typeof a[k], 'string', `(B) attachments[].${k}: ${where}`);
    assert.equal(typeof a['missing'], 'boolean', `(B) attachments[].missing: ${where}`);
  }
  if ('reaction_type' in m) assert.ok(REACTIONS.includes(m['reaction_type'] as string), where);
  if ('associated_message_type' in m) assert.equal(typeof m['associated_message_type'], 'number', where);
  if ('reactions' in m) {
    for (const r of m['reactions'] as Array<Record<string, unknown>>) {
      assert.ok(Number.isSafeInteger(r['id']) && REACTIONS.includes(r['type'] as string) && typeof r['emoji'] === 'string'
        && typeof r['sender'] === 'string' && typeof r['is_from_me'] === 'boolean' && typeof r['created_at'] === 'string', `reactions entry ${JSON.stringify(r)}`);
    }
  }
}
