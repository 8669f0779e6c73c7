// The front door: `imessage-relay demo` runs the whole pipeline against a simulated Messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';

describe('imessage-relay demo', () => {
  it('carries every kind of event from the simulated Messages to the webhook, signed, and sends a reply (file and text) back through it', async () => {
    const { code, stdout, stderr } = await runCli(['demo']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.ok(lines.length >= 8, stdout);
    assert.ok(lines.every((l) => l.startsWith('webhook ✓')), 'every delivery signed');
    for (const kind of ['message', 'from_me', 'delivery', 'reaction', 'edit', 'group']) assert.ok(lines.some((l) => l.includes(` ${kind} `)), kind);
    assert.match(stdout, /\[backlog\]/);
    assert.match(stderr, /POST \/v1\/messages \(a file and a text\) → 202 queued/);
    assert.match(stderr, /the reply went through the simulated Messages: file delivered, text delivered/);
    assert.match(stderr, /GET \/v1\/attachments\/at_0_DEMO → 200 \(1024 bytes\)/);
    assert.ok(lines.some((l) => / from_me .*"Reminder set for 6 pm\. Here is your list\."/.test(l)), 'the reply comes back as a from-me event');
    assert.match(stderr, /relay health ok, hub health ok/);
  });
});
