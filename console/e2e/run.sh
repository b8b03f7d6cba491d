#!/usr/bin/env bash
# Browser tests of the admin console (console): headless Chromium from Debian's
# package, driven by playwright-core, against the real service with real PostgreSQL and
# Redis. `make test` runs this inside deploy/dev/stack.sh, which sets DATABASE_URL and
# REDIS_URL; the tests get databases of their own (memberline_console and, for sign-in
# with an OpenID provider, memberline_console_sso, recreated) and Redis databases 11 and
# 12. The provider is the test OP (internal/testsupport/oidcop/cmd/testop). Screenshots go to
# artifacts/console/.
#
# Installs what is missing: the chromium package, node and npm, and the npm packages
# (npm ci from the committed package-lock.json; no browser is ever downloaded).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

say() { printf 'console-e2e: %s\n' "$*" >&2; }
as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else say "need root to run: $*"; exit 1; fi
}
apt_install() {
	say "installing $* from Debian's packages"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

: "${DATABASE_URL:?DATABASE_URL is required (run through make test or deploy/dev/stack.sh with)}"
: "${REDIS_URL:?REDIS_URL is required}"

[ -x "$chromium" ] || apt_install chromium
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

(cd "$root" && ${GO:-go} build -o bin/memberline ./cmd/memberline && ${GO:-go} build -o bin/testop ./internal/testsupport/oidcop/cmd/testop)

# A database of the tests' own on the same server: DATABASE_URL with another name.
db=memberline_console
base=${DATABASE_URL%%\?*}
query=${DATABASE_URL#"$base"}
server=${base%/*}
psql -q -v ON_ERROR_STOP=1 "$server/postgres$query" \
	-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" \
	-c "DROP DATABASE IF EXISTS ${db}_sso WITH (FORCE)" -c "CREATE DATABASE ${db}_sso" >/dev/null

redis_base=$(printf '%s' "$REDIS_URL" | sed -E 's#(redis://[^/]*)(/[0-9]*)?$#\1#')
export CONSOLE_DATABASE_URL="$server/$db$query"
export CONSOLE_REDIS_URL="$redis_base/11"
export SSO_DATABASE_URL="$server/${db}_sso$query"
export SSO_REDIS_URL="$redis_base/12"
export MEMBERLINE_BIN="$root/bin/memberline"
export TESTOP_BIN="$root/bin/testop"
export CHROMIUM="$chromium"
export ARTIFACTS="$root/artifacts/console"
mkdir -p "$ARTIFACTS"

cd "$here"
node --test --test-concurrency=1 --test-reporter=spec console.test.mjs sso.test.mjs
