import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../../relay/errors.js';
import { decodeAttributedBody, visibleText } from '../../relay/typedstream/attributed-body.js';
import { fixture, fixtureText, needsFixtures } from '../support/fixtures.js';
import { encodeAttributedBody } from '../support/typedstream-encoder.js';

interface ManifestEntry { file: string; text: string; runs: Array<[number, number]>; attribute_keys: string[]; root_class: string }
const manifest = (): ManifestEntry[] => JSON.parse(fixtureText('attributed-body', 'manifest.json')) as ManifestEntry[];

function rejects(blob: Buffer, code: string): RelayError {
  try {
    decodeAttributedBody(blob);
  } catch (err) {
    assert.ok(err instanceof RelayError, `expected a RelayError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(typeof err.details['offset'], 'number');
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('attributedBody decoder on the 29 real blobs', () => {
  it('decodes every blob to the manifest text, with its runs and attribute keys', { skip: needsFixtures }, () => {
    const entries = manifest();
    assert.equal(entries.length, 29);
    let checked = 0;
    for (const e of entries) {
      if (e.file === 'ExtraData') continue;
      const d = decodeAttributedBody(fixture('attributed-body', e.file));
      assert.equal(d.text, e.text, e.file);
      assert.deepEqual(d.runs.map((r) => r.length), e.runs.map((r) => r[1]), `${e.file} run lengths`);
      const keys = new Set<string>();
      const collect = (v: unknown): void => {
        if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || Array.isArray(v) || 'url' in v) return;
        for (const [k, x] of Object.entries(v)) { keys.add(k); collect(x); }
      };
      d.runs.forEach((r) => collect(r.attributes));
      assert.deepEqual([...keys].sort(), [...e.attribute_keys].sort(), `${e.file} attribute keys`);
      checked++;
    }
    assert.equal(checked, 28);
  });

  it('rejects ExtraData (length 157 declared, fewer present) with a code and the byte offset', { skip: needsFixtures }, () => {
    const err = rejects(fixture('attributed-body', 'ExtraData'), 'TS_TRUNCATED');
    assert.ok((err.details['offset'] as number) > 16, 'offset points past the header');
    assert.match(err.message, /157 bytes declared/);
  });

  it('reads the attachment GUID behind each U+FFFC, and removes U+FFFC from the visible text', { skip: needsFixtures }, () => {
    const d = decodeAttributedBody(fixture('attributed-body', 'MultiAttachment'));
    const placeholders = [...d.text].filter((c) => c === '\uFFFC').length;
    assert.equal(d.attachments.length, placeholders);
    assert.ok(d.attachments.every((a) => /^at_\d+_[0-9A-F-]+$/.test(a.guid)), JSON.stringify(d.attachments[0]));
    assert.ok(!visibleText(d.text).includes('\uFFFC'));
  });

  it('reads mentions, links and message parts', { skip: needsFixtures }, () => {
    const m = decodeAttributedBody(fixture('attributed-body', 'Mention'));
    assert.deepEqual(m.mentions.map((x) => [x.handle, x.text]), [['+15558675309', 'Dad']]);
    const u = decodeAttributedBody(fixture('attributed-body', 'URL'));
    assert.deepEqual(u.links, ['https://github.com/ReagentX/Logria']);
    const p = decodeAttributedBody(fixture('attributed-body', 'MultiPart'));
    assert.ok(p.parts.length >= 2, 'several parts');
    assert.deepEqual(p.parts.map((x) => x.index), [...p.parts.map((x) => x.index)].sort((a, b) => a - b));
  });

  it('the test encoder writes exactly what Messages writes (AttributedBodyTextOnly)', { skip: needsFixtures }, () => {
    assert.ok(encodeAttributedBody('Noter test').equals(fixture('attributed-body', 'AttributedBodyTextOnly')));
  });
});

describe('attributedBody decoder on bodies of any size', () => {
  for (const size of [127, 128, 145, 65_535, 65_536, 70_000, 16 * 1024 * 1024 + 3]) {
    it(`decodes a ${size}-byte text`, () => {
      const text = 'é'.repeat(Math.floor(size / 2)) + 'a'.repeat(size % 2);
      const d = decodeAttributedBody(encodeAttributedBody(text));
      assert.equal(d.text.length, text.length);
      assert.equal(d.text, text);
    });
  }

  it('keeps emoji, right-to-left text and control characters intact', () => {
    const text = 'héllo 👋🏽 مرحبا \u202Eabc\u202C\t"\\\n\r\0 end';
    assert.equal(decodeAttributedBody(encodeAttributedBody(text)).text, text);
  });
});

describe('attributedBody decoder on bad input', () => {
  it('refuses a blob without the typedstream header', () => {
    rejects(Buffer.from('bplist00garbage'), 'TS_BAD_HEADER');
    rejects(Buffer.alloc(0), 'TS_BAD_HEADER');
  });

  it('refuses a truncated body at the byte where it ends', () => {
    const full = encodeAttributedBody('hello world');
    const err = rejects(full.subarray(0, full.length - 5), 'TS_TRUNCATED');
    assert.ok((err.details['offset'] as number) <= full.length);
  });

  it('refuses invalid UTF-8 in the string', () => {
    const blob = encodeAttributedBody('abcd');
    const at = blob.indexOf(Buffer.from('abcd'));
    blob[at] = 0xff;
    rejects(blob, 'TS_BAD_UTF8');
  });

  it('refuses runs that do not cover the text', () => {
    rejects(encodeAttributedBody('abcdef', [{ length: 3 }]), 'TS_BAD_RUNS');
  });

  it('reads a UTF-16LE body (FF FE) as text', () => {
    const blob = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hi ☃', 'utf16le')]);
    assert.equal(decodeAttributedBody(blob).text, 'hi ☃');
  });
});
