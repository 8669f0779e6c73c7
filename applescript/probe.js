// Is Messages running, and may this process send it Apple events (Automation permission)?
// argv: []. Never launches Messages. Prints {"running":bool,"automation":"granted"|"denied"|"unknown","accounts":n|null}.
function run(argv) {
  var app = Application('com.apple.MobileSMS');
  if (!app.running()) return JSON.stringify({ running: false, automation: 'unknown', accounts: null });
  try {
    var n = typeof app.accounts !== 'undefined' ? app.accounts.length : app.services.length;
    return JSON.stringify({ running: true, automation: 'granted', accounts: n });
  } catch (e) {
    if (e.errorNumber === -1743) return JSON.stringify({ running: true, automation: 'denied', accounts: null });
    throw e;
  }
}
