// Sends text to an existing chat, addressed by the chat guid read from chat.db (never built).
// argv: one JSON argument {"chat": "<chat guid>", "text": "…"} (JSON, so any text, NUL included,
// passes through argv). Prints {"ok":true}. Fails with -1728 before sending if the chat is unknown.
// User data arrives only as arguments; nothing here is assembled from it.
function run(argv) {
  var a = JSON.parse(argv[0]);
  if (typeof a.chat !== 'string' || typeof a.text !== 'string') throw new Error('IMR_USAGE: send-to-chat.js {"chat","text"}');
  var app = Application('com.apple.MobileSMS');
  var chat = app.chats.byId(a.chat);
  chat.id();
  app.send(a.text, { to: chat });
  return JSON.stringify({ ok: true });
}
