#!/usr/bin/env bash
# Install everything the backend and its tests need; safe to run again.
#   - Debian packages (as root): redis-server, Tesseract with Portuguese data,
#     chromium (the dashboard's end-to-end test)
#   - Python virtual environment at ./venv with requirements-dev.txt
#   - the Firebase CLI (firebase-tools) in ./tools/node_modules
#   - the admin dashboard: its npm packages and its build in ./hosting/dist
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(make g++ redis-server tesseract-ocr tesseract-ocr-por poppler-utils fonts-dejavu-core chromium)

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing_apt+=("$pkg")
done
if ((${#missing_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_apt[@]}" >/dev/null
  else
    echo "setup: please install with sudo: apt-get install ${missing_apt[*]}" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x venv/bin/python ]; then
  echo "setup: creating venv"
  "$PYTHON" -m venv venv
fi
# The Firebase emulator starts the runtime named in firebase.json (python3.12)
# inside ./venv; where the venv was made by another Python, point that name at it.
for name in python3.12; do
  if [ ! -e "venv/bin/$name" ]; then
    ln -s python "venv/bin/$name"
  fi
done

stamp=venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages"
  venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
  echo "$want" >"$stamp"
fi

npm_stamp=tools/node_modules/.setup.sha256
want=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
if [ ! -x tools/node_modules/.bin/firebase ] || [ "$(cat "$npm_stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing firebase-tools"
  npm ci --prefix tools --no-fund --no-audit --loglevel=error >/dev/null
  echo "$want" >"$npm_stamp"
fi

# The dashboard bakes the emulator addresses of firebase.json and the project
# of .firebaserc into its bundle, so those files count as its sources too.
hosting_stamp=hosting/node_modules/.setup.sha256
want=$(sha256sum hosting/package-lock.json | cut -d' ' -f1)
if [ ! -d hosting/node_modules ] || [ "$(cat "$hosting_stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the dashboard's npm packages"
  npm ci --prefix hosting --no-fund --no-audit --loglevel=error >/dev/null
  echo "$want" >"$hosting_stamp"
fi
build_stamp=hosting/dist/.build.sha256
want=$(find hosting/src hosting/build.mjs hosting/package-lock.json firebase.json .firebaserc \
  -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ ! -f hosting/dist/index.html ] || [ "$(cat "$build_stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: building the dashboard"
  npm run --prefix hosting --silent build
  echo "$want" >"$build_stamp"
fi
