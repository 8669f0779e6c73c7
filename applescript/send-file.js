// Sends a file (already staged under ~/Library/Messages/Attachments/imessage-relay/<uuid>/) to a chat
// by guid, or to a handle over a service. argv: one JSON argument {"chat": "<guid>", "path": "/abs"}
// or {"handle": "+1555…", "service": "iMessage", "path": "/abs"}. Prints {"ok":true}.
function run(argv) {
  var a = JSON.parse(argv[0]);
  var app = Application('com.apple.MobileSMS');
  var target;
  if (typeof a.path !== 'string' || a.path.charAt(0) !== '/') throw new Error('IMR_BAD_PATH: the file path must be absolute');
  if (typeof a.chat === 'string') {
    target = app.chats.byId(a.chat);
    target.id();
  } else if (typeof a.handle === 'string') {
    if (a.service !== 'iMessage' && a.service !== 'SMS' && a.service !== 'RCS') throw new Error('IMR_BAD_SERVICE: ' + a.service);
    var modern = typeof app.accounts !== 'undefined';
    var accounts = modern ? app.accounts.whose({ serviceType: a.service })() : app.services.whose({ serviceType: a.service })();
    if (accounts.length === 0) throw new Error('IMR_NO_ACCOUNT: no ' + a.service + ' account in Messages');
    target = modern ? accounts[0].participants.byName(a.handle) : accounts[0].buddies.byName(a.handle);
  } else {
    throw new Error('IMR_USAGE: send-file.js {"chat","path"} | {"handle","service","path"}');
  }
  app.send(Path(a.path), { to: target });
  return JSON.stringify({ ok: true });
}
