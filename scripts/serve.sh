#!/usr/bin/env bash
# Run the backend locally: every function through the Firebase Functions and
# Auth emulators (and Hosting once hosting/ exists), over the embedded SQLite
# store in .data/. Ctrl-C stops everything.
#   DATA_DIR=/some/dir scripts/serve.sh    keeps the documents elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh

only=functions,auth
if [ -d hosting ]; then
  only+=,hosting
fi

# The emulator hands its own environment to the Python workers, so these reach
# the functions; .env files of the repository root are added on top.
export DATA_DIR=${DATA_DIR:-$root/.data}
export STORE_BACKEND=${STORE_BACKEND:-sqlite}
mkdir -p "$DATA_DIR"

project=$(venv/bin/python -c 'import json; print(json.load(open(".firebaserc"))["projects"]["default"])')

(exec tools/node_modules/.bin/firebase emulators:start \
  --only "$only" --project "$project") &
emulators=$!
# Ctrl-C reaches the emulators by themselves (same process group); a TERM
# sent to this script is passed on as the INT they shut down cleanly on.
trap 'kill -INT "$emulators" 2>/dev/null || true; wait "$emulators"' TERM
trap 'wait "$emulators"' INT

if venv/bin/python -m functions serve-info --wait 120; then
  cat <<'MSG'

Load the demo data (in another terminal):
  venv/bin/python -m functions load-demo
MSG
fi
wait "$emulators"
