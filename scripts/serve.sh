#!/usr/bin/env bash
# Run the backend locally: every function through the Firebase Functions and
# Auth emulators (and Hosting once hosting/ exists), over the embedded SQLite
# store in .data/ and a local redis-server as the shared cache. Ctrl-C stops
# everything.
#   DATA_DIR=/some/dir scripts/serve.sh    keeps the documents elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh

only=functions,auth
if [ -d hosting ]; then
  only+=,hosting
fi

# Another emulator on these ports would answer in place of ours.
busy=$(venv/bin/python - <<'PY'
import socket
from functions.cli import local_setup

local = local_setup()
for name, port in sorted(local.ports.items()):
    with socket.socket() as sock:
        sock.settimeout(0.3)
        if sock.connect_ex((local.host, port)) == 0:
            print(f"{name} {port}")
PY
)
if [ -n "$busy" ]; then
  echo "serve: ports already in use (another emulator running?):" >&2
  echo "$busy" >&2
  exit 1
fi

# The emulator hands its own environment to the Python workers, so these reach
# the functions; .env files of the repository root are added on top.
export DATA_DIR=${DATA_DIR:-$root/.data}
export STORE_BACKEND=${STORE_BACKEND:-sqlite}
mkdir -p "$DATA_DIR"

# The emulator runs each function in its own Python process, so without a
# shared L2 each would cache on its own and, say, getUserStats could lag
# behind a write made through assistenteHttp. A local Redis plays Memorystore.
redis_pid=
if [ -z "${CACHE_REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
  redis_port=${REDIS_PORT:-6390}
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    >"$DATA_DIR/redis.log" 2>&1 &
  redis_pid=$!
  export CACHE_REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi
stop_redis() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true; }
trap stop_redis EXIT

project=$(venv/bin/python -c 'import json; print(json.load(open(".firebaserc"))["projects"]["default"])')

(exec tools/node_modules/.bin/firebase emulators:start \
  --only "$only" --project "$project") &
emulators=$!
# Ctrl-C reaches the emulators by themselves (same process group); a TERM
# sent to this script is passed on as the INT they shut down cleanly on.
trap 'kill -INT "$emulators" 2>/dev/null || true; wait "$emulators"' TERM
trap 'wait "$emulators"' INT

if venv/bin/python -m functions serve-info --wait 120 && kill -0 "$emulators" 2>/dev/null; then
  cat <<'MSG'

Load the demo data (in another terminal):
  venv/bin/python -m functions load-demo
MSG
fi
wait "$emulators"
