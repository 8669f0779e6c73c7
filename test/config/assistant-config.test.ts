// The hub's `assistant` section: off unless enabled, the key from MODEL_API_KEY or a 0600 file (a
// file others can read is refused, naming the key), typos refused, defaults as documented.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAssistant } from '../../relay/config/assistant-config.js';
import { ConfigNode } from '../../relay/config/validate.js';
import { tempDir } from '../support/chatdb-env.js';

const tmp = tempDir('imr-assistant-config-');
const FILE = join(tmp.dir, 'hub.json');
const parse = (section: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ReturnType<typeof parseAssistant> =>
  parseAssistant(ConfigNode.root({ assistant: section }, FILE).object('assistant'), FILE, env);
const base = { enabled: true, baseUrl: 'http://127.0.0.1:8080/v1', model: 'llama' };

describe('hub config: assistant', () => {
  after(() => tmp.cleanup());

  it('is off when absent or not enabled', () => {
    assert.equal(parse({}), null);
    assert.equal(parse({ ...base, enabled: false }), null);
  });

  it('takes the key from MODEL_API_KEY, with the documented defaults', () => {
    const c = parse(base, { MODEL_API_KEY: 'sk-env' })!;
    assert.equal(c.apiKey, 'sk-env');
    assert.equal(c.requestsPerSecond, 10);
    assert.equal(c.maxHistory, 20);
    assert.equal(c.vision, false);
    assert.deepEqual(c.allow, []);
    assert.equal(c.notAllowedReply, null);
  });

  it('takes the key from a 0600 file, and refuses one others can read with CONFIG_INVALID naming the key', () => {
    const key = join(tmp.dir, 'model.key');
    writeFileSync(key, 'sk-file\n', { mode: 0o600 });
    assert.equal(parse({ ...base, apiKeyFile: key }, { MODEL_API_KEY: 'sk-env' })!.apiKey, 'sk-file');
    const open = join(tmp.dir, 'open.key');
    writeFileSync(open, 'sk-open', { mode: 0o644 });
    assert.throws(() => parse({ ...base, apiKeyFile: open }), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /assistant\.apiKeyFile/.test(e.message) && /chmod 600/.test(e.message));
  });

  it('without any key, a typo, or a bad URL: CONFIG_INVALID naming the key', () => {
    const refused = (section: Record<string, unknown>, key: string, env: NodeJS.ProcessEnv = { MODEL_API_KEY: 'k' }): void =>
      assert.throws(() => parse(section, env), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && e.message.includes(`"assistant.${key}"`));
    refused(base, 'apiKeyFile', {});
    refused({ ...base, modle: 'x' }, 'modle');
    refused({ ...base, baseUrl: 'ftp://x' }, 'baseUrl');
    refused({ ...base, requestsPerSecond: 0 }, 'requestsPerSecond');
    refused({ ...base, allow: 'everyone' }, 'allow');
  });
});
