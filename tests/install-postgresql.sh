#!/bin/sh
# Installs Debian's PostgreSQL server binaries, which the PostgreSQL tests run a throwaway server from
# (tests/Conversations.Tests/Infrastructure/PostgreSqlServer.cs), when they are missing. `npm ci` runs it
# (package.json "postinstall"), so the README's test command installs it. It never fails the install:
# where it cannot install (not root, no apt-get, no package source), those tests skip and say why.
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${CONVERSATIONS_POSTGRES_BIN:-}" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL is not installed and this script cannot install it (it needs root and apt-get): the PostgreSQL tests will skip." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get install -y -q postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q postgresql >/dev/null 2>&1; }; then
  echo "Installed Debian's postgresql for the PostgreSQL tests."
else
  echo "apt-get could not install postgresql: the PostgreSQL tests will skip." >&2
fi
exit 0
