// The front door: `imessage-relay demo` runs the whole pipeline against a simulated Messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';
import { lastUserText, ModelServer } from '../support/model-server.js';

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
    assert.match(stderr, /the built-in assistant \(a local echo; try --model\) answered: "\(echo\) You said: Hi! Can you remind me to buy milk\?"/);
    assert.ok(lines.some((l) => / from_me .*"\(echo\) You said: Hi! Can you remind me to buy milk\?"/.test(l)), 'the echo reply was sent through Messages');
  });

  it('--model <base URL>: the same demo answered by a chat-completions server, with MODEL_API_KEY', async () => {
    const model = new ModelServer();
    model.respond = (r) => ({ reply: `Sure! I'll remind you (${lastUserText(r).length} characters read).` });
    await model.start();
    try {
      const { code, stdout, stderr } = await runCli(['demo', '--model', model.url, '--model-name', 'tiny-model'], { env: { MODEL_API_KEY: 'sk-demo-key' } });
      assert.equal(code, 0, stderr);
      assert.equal(model.requests.length, 1);
      assert.equal(model.requests[0]!.headers.authorization, 'Bearer sk-demo-key');
      assert.equal(model.requests[0]!.body.model, 'tiny-model');
      assert.equal(lastUserText(model.requests[0]!), 'Hi! Can you remind me to buy milk?');
      assert.match(stderr, /the built-in assistant \(model tiny-model at http:\/\/127\.0\.0\.1:\d+\/v1\) answered: "Sure! I'll remind you \(34 characters read\)\."/);
      assert.ok(stdout.includes(`from me: "Sure! I'll remind you (34 characters read)."`), stdout);
    } finally {
      await model.stop();
    }
    const noKey = await runCli(['demo', '--model', 'http://127.0.0.1:9/v1'], { env: { MODEL_API_KEY: '' } });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /MODEL_API_KEY/);
  });
});
