// The addon built from receive.c by `npm ci` (node-gyp); the agent bundle loads it from beside the executable.
module.exports = require('./build/Release/pinger_native.node');
