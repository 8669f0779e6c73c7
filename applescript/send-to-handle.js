// Sends text to a handle over a service, for a DM that has no chat yet.
// argv: one JSON argument {"handle": "+1555…", "service": "iMessage" | "SMS" | "RCS", "text": "…"}.
// macOS 11+: accounts/participants; 10.15 and older: services/buddies (the same objects, old names).
function run(argv) {
  var a = JSON.parse(argv[0]);
  if (typeof a.handle !== 'string' || typeof a.text !== 'string') throw new Error('IMR_USAGE: send-to-handle.js {"handle","service","text"}');
  if (a.service !== 'iMessage' && a.service !== 'SMS' && a.service !== 'RCS') throw new Error('IMR_BAD_SERVICE: ' + a.service);
  var app = Application('com.apple.MobileSMS');
  var modern = typeof app.accounts !== 'undefined';
  var accounts = modern ? app.accounts.whose({ serviceType: a.service })() : app.services.whose({ serviceType: a.service })();
  if (accounts.length === 0) throw new Error('IMR_NO_ACCOUNT: no ' + a.service + ' account in Messages');
  var target = modern ? accounts[0].participants.byName(a.handle) : accounts[0].buddies.byName(a.handle);
  app.send(a.text, { to: target });
  return JSON.stringify({ ok: true });
}
