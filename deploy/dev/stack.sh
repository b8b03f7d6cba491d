#!/usr/bin/env bash
# The local development stack: a PostgreSQL 15 cluster and a Redis server under .dev/,
# on loopback, on non-default ports. Used by `make run` and `make test`.
#
#   stack.sh up            start what is not running yet (installs missing packages)
#   stack.sh down          stop what runs under .dev/
#   stack.sh env           print DATABASE_URL and REDIS_URL for the stack
#   stack.sh with DB CMD…  start the stack, run CMD with DATABASE_URL (database DB) and
#                          REDIS_URL set, then stop whatever this call started
#
# When DATABASE_URL and REDIS_URL are both set, nothing is started and they are used as
# they are. Settings: MEMBERLINE_DEV_DIR (default ./.dev), MEMBERLINE_DEV_PG_PORT (54329),
# MEMBERLINE_DEV_REDIS_PORT (63799).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
dev=${MEMBERLINE_DEV_DIR:-$root/.dev}
pg_port=${MEMBERLINE_DEV_PG_PORT:-54329}
redis_port=${MEMBERLINE_DEV_REDIS_PORT:-63799}
pg_bin=${MEMBERLINE_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_user=memberline # the database role; trust auth on loopback only
started=()

say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root to run: $*"; fi
}

apt_install() {
	say "installing $* from Debian's packages"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_packages() {
	command -v redis-server >/dev/null || apt_install redis-server
	[ -x "$pg_bin/initdb" ] || apt_install postgresql-15
	[ -x "$pg_bin/initdb" ] || die "no PostgreSQL 15 server binaries at $pg_bin"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user
# (or a user made for it). Elsewhere it belongs to whoever runs this.
os_user=$(id -un)
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u "$os_user" -- "$@"; else "$@"; fi
}

pick_os_user() {
	[ "$(id -u)" = 0 ] || return 0
	if id postgres >/dev/null 2>&1; then os_user=postgres
	else
		id memberline-dev >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin memberline-dev
		os_user=memberline-dev
	fi
}

# The cluster's directory must be reachable by its owner. A checkout in a private home
# directory is not, so the data then lives in a directory of its own under /tmp, named
# after the checkout, and .dev/pg links to it.
pg_data_dir() {
	local d=$dev/pg
	if [ -L "$d" ]; then readlink "$d"; return; fi
	if [ -d "$d" ]; then echo "$d"; return; fi
	mkdir -p "$dev"
	if [ "$(id -u)" != 0 ] || runuser -u "$os_user" -- test -x "$dev"; then
		echo "$d"
	else
		local alt
		alt=/tmp/memberline-pg-$(printf '%s' "$dev" | sha1sum | cut -c1-12)
		ln -s "$alt" "$d"
		echo "$alt"
	fi
}

pg_running() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null; }
redis_running() { redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; }

pg_up() {
	pick_os_user
	local data
	data=$(pg_data_dir)
	if [ ! -f "$data/PG_VERSION" ]; then
		say "creating a PostgreSQL cluster in $data"
		mkdir -p "$data"
		[ "$(id -u)" = 0 ] && chown "$os_user" "$data"
		chmod 700 "$data"
		as_pg "$pg_bin/initdb" -D "$data" -U "$pg_user" -A trust -E UTF8 --no-locale >"$dev/initdb.log" 2>&1 ||
			{ cat "$dev/initdb.log" >&2; die "initdb failed"; }
	fi
	if pg_running; then return 0; fi
	# A cluster left behind by a killed run keeps a stale postmaster.pid; pg_ctl copes.
	say "starting PostgreSQL on 127.0.0.1:$pg_port"
	local log=$data/server.log
	# Development settings: loopback only, no Unix socket, durability traded for speed.
	as_pg "$pg_bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o \
		"-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		>/dev/null || { tail -20 "$log" >&2; die "PostgreSQL did not start"; }
	started+=(pg)
}

pg_down() {
	local data
	pick_os_user
	data=$(pg_data_dir)
	[ -f "$data/postmaster.pid" ] || return 0
	say "stopping PostgreSQL"
	as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

redis_up() {
	if redis_running; then return 0; fi
	mkdir -p "$dev/redis"
	say "starting Redis on 127.0.0.1:$redis_port"
	redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes \
		--dir "$dev/redis" --pidfile "$dev/redis/redis.pid" --logfile "$dev/redis/redis.log" \
		--save '' --appendonly no >/dev/null
	for _ in $(seq 50); do redis_running && break; sleep 0.1; done
	redis_running || { tail -20 "$dev/redis/redis.log" >&2; die "Redis did not start"; }
	started+=(redis)
}

redis_down() {
	redis_running || return 0
	say "stopping Redis"
	redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
}

external() { [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; }

up() {
	if external; then say "using DATABASE_URL and REDIS_URL from the environment"; return 0; fi
	ensure_packages
	pg_up
	redis_up
}

create_db() {
	local db=$1
	"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
		"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
}

export_env() {
	local db=$1
	external && return 0
	create_db "$db"
	export DATABASE_URL="postgres://$pg_user@127.0.0.1:$pg_port/$db?sslmode=disable"
	export REDIS_URL="redis://127.0.0.1:$redis_port/0"
}

stop_started() {
	for s in "${started[@]}"; do
		case $s in pg) pg_down ;; redis) redis_down ;; esac
	done
	started=()
}

case ${1:-} in
up) up ;;
down) pg_down; redis_down ;;
env)
	up
	export_env "${2:-memberline}"
	echo "DATABASE_URL=$DATABASE_URL"
	echo "REDIS_URL=$REDIS_URL"
	;;
with)
	[ $# -ge 3 ] || die "usage: stack.sh with DB CMD..."
	db=$2
	shift 2
	trap stop_started EXIT
	trap 'exit 130' INT TERM
	up
	export_env "$db"
	# Run in the foreground so Ctrl-C reaches the command; the EXIT trap stops the stack.
	set +e
	"$@"
	rc=$?
	set -e
	exit $rc
	;;
*) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
