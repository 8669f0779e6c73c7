// Is Messages running, may this process send it Apple events (Automation permission), and is an
// account signed in? argv: []. Never launches Messages.
// Prints {"running":bool,"automation":"granted"|"denied"|"unknown","accounts":n|null,"signed_in":n|null}:
// signed_in counts the enabled accounts whose connection status is "connected" (null: not readable).
function run(argv) {
  var app = Application('com.apple.MobileSMS');
  if (!app.running()) return JSON.stringify({ running: false, automation: 'unknown', accounts: null, signed_in: null });
  var list;
  try {
    list = typeof app.accounts !== 'undefined' ? app.accounts : app.services;
    var n = list.length;
  } catch (e) {
    if (e.errorNumber === -1743) return JSON.stringify({ running: true, automation: 'denied', accounts: null, signed_in: null });
    throw e;
  }
  var signedIn = 0;
  try {
    var all = list();
    for (var i = 0; i < all.length; i++) {
      if (all[i].enabled() && all[i].connectionStatus() === 'connected') signedIn++;
    }
  } catch (e) {
    if (e.errorNumber === -1743) throw e;
    signedIn = null;
  }
  return JSON.stringify({ running: true, automation: 'granted', accounts: n, signed_in: signedIn });
}
