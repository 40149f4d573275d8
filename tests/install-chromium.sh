#!/bin/sh
# Installs Debian's Chromium for the portal's browser tests (tests/Conversations.Tests/Portal), when it is missing.
# Run by `npm ci` (package.json's postinstall), so the README's test command sets up the browser as it sets up Azurite.
# Playwright's own browser download is not used: the tests drive /usr/bin/chromium.
# Without root or sudo it only says what to run: the rest of the suite still runs, and the browser tests fail naming it.
set -u
[ -x /usr/bin/chromium ] && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "install-chromium: no apt-get here; install Chromium at /usr/bin/chromium for the portal tests." >&2; exit 0; }
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "install-chromium: Chromium is missing; run 'sudo apt-get install -y chromium' for the portal's browser tests." >&2
  exit 0
fi
echo "install-chromium: installing Debian's chromium (apt-get) for the portal's browser tests"
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get install -y chromium >/dev/null \
  || { $as_root apt-get update >/dev/null && $as_root apt-get install -y chromium >/dev/null; } \
  || echo "install-chromium: apt-get could not install chromium; the portal's browser tests will fail until it is installed." >&2
exit 0
