// imsg-relay's own config ($IMSG_RELAY_CONFIG, README "OpenClaw"): a missing or unsafe config makes
// every request fail with a −32603 that names the file and the fix (one stderr line, OpenClaw logs it);
// the probe subcommands need no config at all.
import assert from 'node:assert/strict';
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../support/chatdb-env.js';
import { ensureCommandBuilt, LAUNCHER } from '../support/imsg-build.js';
import { ImsgProcess, runImsg } from '../support/imsg-process.js';

describe('imsg-relay config', () => {
  const t = tempDir('imr-imsg-config-');
  before(async () => { await ensureCommandBuilt(); });
  after(() => t.cleanup());

  const firstAnswer = async (config: string): Promise<{ data: string; stderr: string }> => {
    const p = new ImsgProcess(config);
    const r = await p.request('chats.list', { limit: 1 });
    await p.close({ stderr: false });
    assert.equal(r.error!.code, -32603);
    return { data: String(r.error!.data), stderr: p.stderr };
  };

  it('no config file: every request says which file is missing and how to point at one', async () => {
    const missing = join(t.dir, 'nope.json');
    const { data, stderr } = await firstAnswer(missing);
    assert.match(data, new RegExp(`${missing}.*ENOENT.*IMSG_RELAY_CONFIG`));
    assert.match(stderr, /ENOENT/);
  });

  it('a token file readable by others is refused', async () => {
    const token = join(t.dir, 'token');
    writeFileSync(token, 'secret-token-value');
    chmodSync(token, 0o644);
    const config = join(t.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ hub: 'http://127.0.0.1:9', tokenFile: token, attachmentsRoot: join(t.dir, 'a'), stateDir: join(t.dir, 's') }));
    const { data } = await firstAnswer(config);
    assert.match(data, /readable by others/);
    assert.ok(!data.includes('secret-token-value'));
  });

  it('the launcher works through a symbolic link (npm links bins that way)', () => {
    const link = join(t.dir, 'bin-link');
    symlinkSync(LAUNCHER, link);
    const r = spawnSync(link, ['status', '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout)['advanced_features'], false);
  });

  it('status --json and rpc --help answer without any config', async () => {
    const env = { IMSG_RELAY_CONFIG: join(t.dir, 'absent.json') };
    assert.equal((await runImsg(['status', '--json'], env)).code, 0);
    assert.equal((await runImsg(['rpc', '--help'], env)).code, 0);
  });
});
