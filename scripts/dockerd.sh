#!/usr/bin/env bash
# Runs a private docker daemon for the end-to-end tests, apart from any
# system daemon: its own data root, exec root, pid file and socket under
# $BERTH_DOCKERD_DIR (default /tmp/berth-dockerd).
#
#   scripts/dockerd.sh start    start it (no-op when already answering) and
#                               print the DOCKER_HOST to use
#   scripts/dockerd.sh stop     stop it and wait for it to exit
#   scripts/dockerd.sh env      print "export DOCKER_HOST=..." for eval
#
# The daemon never runs containers for us (the tests only load, tag, push
# and pull images), so it runs without networking: --bridge=none and
# --iptables=false, which also keeps it from touching the host's firewall.
# The storage driver is left to dockerd (overlay2 where the data root allows
# it, else vfs); set BERTH_DOCKERD_STORAGE_DRIVER to force one.
# 127.0.0.0/8 registries are insecure (plain HTTP) by default in dockerd; we
# say so explicitly anyway, since the registry under test speaks plain HTTP
# on a random loopback port.
set -euo pipefail

dir="${BERTH_DOCKERD_DIR:-/tmp/berth-dockerd}"
sock="$dir/docker.sock"
pidfile="$dir/docker.pid"
logfile="$dir/dockerd.log"
host="unix://$sock"
export DOCKER_HOST="$host"

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }
die() { printf 'dockerd.sh: error: %s\n' "$*" >&2; exit 1; }

running() { [ -S "$sock" ] && docker info >/dev/null 2>&1; }

start() {
	if running; then
		log "already running at $host"
		echo "$host"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "dockerd needs root"
	command -v dockerd >/dev/null || die "dockerd not found (run scripts/install-tools.sh as root)"
	command -v docker >/dev/null || die "docker CLI not found (run scripts/install-tools.sh as root)"
	mkdir -p "$dir/root" "$dir/exec"
	rm -f "$sock" "$pidfile"
	local args=(
		--data-root "$dir/root"
		--exec-root "$dir/exec"
		--pidfile "$pidfile"
		--host "$host"
		--bridge none
		--iptables=false
		--ip6tables=false
		--insecure-registry 127.0.0.0/8
	)
	if [ -n "${BERTH_DOCKERD_STORAGE_DRIVER:-}" ]; then
		args+=(--storage-driver "$BERTH_DOCKERD_STORAGE_DRIVER")
	fi
	log "starting dockerd (log: $logfile)"
	# setsid: the daemon outlives this script and is not killed by the
	# caller's job control; it is stopped by "dockerd.sh stop".
	setsid dockerd "${args[@]}" </dev/null >"$logfile" 2>&1 &
	local pid=$!
	local i
	for i in $(seq 1 120); do
		if running; then
			log "dockerd $pid ready at $host ($(docker info --format '{{.Driver}}') storage)"
			echo "$host"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$logfile" >&2 || true
			die "dockerd exited during startup; see $logfile"
		fi
		sleep 0.5
	done
	tail -n 30 "$logfile" >&2 || true
	kill "$pid" 2>/dev/null || true
	die "dockerd did not answer within 60s; see $logfile"
}

stop() {
	if [ ! -f "$pidfile" ]; then
		log "not running (no $pidfile)"
		return 0
	fi
	local pid
	pid="$(cat "$pidfile")"
	if ! kill -0 "$pid" 2>/dev/null; then
		log "not running (stale pid $pid)"
		rm -f "$pidfile" "$sock"
		return 0
	fi
	log "stopping dockerd $pid"
	kill -TERM "$pid"
	local i
	for i in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || { log "stopped"; rm -f "$pidfile" "$sock"; return 0; }
		sleep 0.5
	done
	log "dockerd $pid did not stop in 30s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile" "$sock"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) echo "export DOCKER_HOST=$host" ;;
*) die "usage: $0 start|stop|env" ;;
esac
