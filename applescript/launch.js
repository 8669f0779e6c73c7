// Launches Messages without bringing it to the front. argv: []. Prints {"running":bool}.
function run(argv) {
  var app = Application('com.apple.MobileSMS');
  if (!app.running()) app.launch();
  return JSON.stringify({ running: app.running() });
}
