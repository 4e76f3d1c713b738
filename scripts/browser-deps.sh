#!/usr/bin/env bash
# What the browser tests (tests/browser) and the plan PDF's tests need besides the Python packages,
# installed only if missing (poppler-utils for pdftotext/pdftoppm, DejaVu fonts for the PDF):
#   - Debian's chromium at /usr/bin/chromium (Playwright drives it; no browser download of its own)
#   - axe-core from npm, pinned in tests/browser/package-lock.json, into tests/browser/node_modules
# Idempotent: a second run changes nothing and takes a second. Safe to run in CI before `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'browser-deps: %s\n' "$*"; }
fail() { printf 'browser-deps: %s\n' "$*" >&2; exit 1; }

# --- chromium --------------------------------------------------------------------------------
if [ -x /usr/bin/chromium ]; then
  say "chromium is there ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
else
  command -v apt-get >/dev/null 2>&1 \
    || fail "no /usr/bin/chromium and no apt-get: install Chromium so that /usr/bin/chromium exists, then run this again."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 \
      || fail "no /usr/bin/chromium: run 'apt-get install -y chromium' as root (this script needs root or sudo to do it)."
    sudo="sudo"
  fi
  say "installing Debian's chromium (a few minutes the first time)..."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || fail "apt-get update failed: check the network or the apt sources, then run this again."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji \
    || fail "apt-get install chromium failed (see above)."
  [ -x /usr/bin/chromium ] || fail "chromium installed but /usr/bin/chromium is missing: the browser tests will skip."
  say "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
fi

# --- poppler-utils (pdftotext, pdftoppm) and DejaVu fonts: the plan PDF's tests open the PDF -------------
if command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 \
    && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  say "poppler-utils and DejaVu fonts are there"
else
  command -v apt-get >/dev/null 2>&1 \
    || fail "pdftotext/pdftoppm or DejaVu fonts missing and no apt-get: install poppler-utils and fonts-dejavu-core."
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "run 'apt-get install -y poppler-utils fonts-dejavu-core' as root."
    sudo="sudo"
  fi
  say "installing poppler-utils and fonts-dejavu-core..."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils fonts-dejavu-core \
    || { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
         $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils fonts-dejavu-core; } \
    || fail "apt-get install poppler-utils failed (see above)."
fi

# --- axe-core ----------------------------------------------------------------------------------
dir=tests/browser
stamp=$dir/node_modules/.signpost-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$dir/node_modules/axe-core/axe.min.js" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "axe-core is there and matches package-lock.json"
else
  command -v npm >/dev/null 2>&1 \
    || fail "npm is missing: install Node.js and npm (Debian: apt-get install -y nodejs npm), then run this again."
  say "npm ci in $dir (package-lock.json changed or node_modules missing)..."
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
    || fail "npm ci failed in $dir (see above): check the network or the npm registry."
  [ -f "$dir/node_modules/axe-core/axe.min.js" ] || fail "npm ci ran but axe-core/axe.min.js is missing."
  echo "$want" > "$stamp"
  say "axe-core $(cd "$dir" && node -p 'require("axe-core/package.json").version') installed"
fi
