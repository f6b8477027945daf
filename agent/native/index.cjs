// The addon built from receive.c by `npm ci` (node-gyp). The agent bundle replaces this require with a loader
// that looks beside the executable and names the missing file itself (scripts/build-agent/native-addons.ts).
const path = require('node:path');

try {
  module.exports = require('./build/Release/pinger_native.node');
} catch (cause) {
  if (cause?.name === 'AddonLoadError') throw cause;
  // From a checkout, the addon is missing when the install skipped or failed its build: say what to run.
  const file = path.join(__dirname, 'build', 'Release', 'pinger_native.node');
  const why = cause?.message ? cause.message.split('\n')[0] : String(cause);
  const err = new Error(
    `[agent] cannot load the kernel receive timestamp addon ${file}: build it with \`npm ci\`, or ` +
      `\`npm run install\` for this addon alone (node-gyp: python3, make and a C compiler) (${why})`,
    { cause },
  );
  err.name = 'AddonLoadError';
  throw err;
}
