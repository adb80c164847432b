#!/usr/bin/env bash
# Runs the OCI distribution-spec conformance suite (pinned in
# tools/conformance/go.mod) against bin/registry: pull, push, content
# discovery (tag list, referrers) and content management (deletes), with a
# second repository for cross-repository mounts.
#
# It builds bin/registry and .tools/bin/oci-conformance (both no-ops when up
# to date), starts the registry on a free 127.0.0.1 port over a fresh
# filesystem root, waits for it to answer, runs the suite, prints the summary
# and every test that did not pass, and stops the registry however it exits.
# Exit status: 0 when the suite passes, 1 when any test fails or errs, 2 when
# the harness itself could not run.
#
# Environment:
#   CONFORMANCE_REGISTRY     berth (default) or distribution, the CNCF
#                            registry from .tools/bin/distribution-registry,
#                            to tell a Berth bug from a quirk of the suite.
#   CONFORMANCE_AUTH=1       Berth only: run with token auth on. The registry
#                            issues its own tokens (auth.token.htpasswd, the
#                            default ACL: any authenticated account may do
#                            anything, anonymous callers nothing) to one user,
#                            admin, with a random password; the suite logs in
#                            with OCI_USERNAME/OCI_PASSWORD and follows the
#                            Bearer challenges to /token. The script checks
#                            first that an anonymous GET /v2/ is refused.
#   CONFORMANCE_RESULTS_DIR  where results.yaml, junit.xml, report.html,
#                            failures.txt (each test that did not pass with
#                            its requests and responses) and the registry
#                            log go (default: a new temp dir, kept and
#                            printed).
#   CONFORMANCE_VERBOSE=1    print the suite's whole result tree, not only
#                            the tests that did not pass.
#   OCI_*                    passed to the suite, e.g. OCI_FILTER_TEST="OCI
#                            Conformance Test/sha256 blobs", OCI_LOG=warn
#                            (default error), OCI_DATA_SHA512=false. The
#                            suite's variables are listed in its README
#                            (go doc is empty; see the module cache copy).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flavor="${CONFORMANCE_REGISTRY:-berth}"
auth="${CONFORMANCE_AUTH:-}"
suite="$root/.tools/bin/oci-conformance"
suite_pkg=github.com/opencontainers/distribution-spec/conformance

log() { printf 'conformance: %s\n' "$*" >&2; }
die() { printf 'conformance: error: %s\n' "$*" >&2; exit 2; }

case "$auth" in
"" | 0) auth="" ;;
1) ;;
*) die "CONFORMANCE_AUTH=$auth: want 1 or unset" ;;
esac
command -v go >/dev/null || die "go is not on PATH"
command -v curl >/dev/null || die "curl is not on PATH"

# Build the suite from its own module, so its dependencies never touch
# Berth's go.mod. main.Version shows up as "Conformance Commit" in reports.
suite_version="$(cd "$root/tools/conformance" && GOWORK=off go list -m -f '{{.Version}}' "$suite_pkg")" ||
	die "cannot read the pinned $suite_pkg version from tools/conformance/go.mod"
mkdir -p "$root/.tools/bin"
(cd "$root/tools/conformance" && GOWORK=off go build -ldflags "-X main.Version=$suite_version" -o "$suite" "$suite_pkg") ||
	die "building $suite_pkg@$suite_version failed"
failures="$root/.tools/bin/oci-conformance-failures"
(cd "$root/tools/conformance" && GOWORK=off go build -o "$failures" ./failures) ||
	die "building tools/conformance/failures failed"

case "$flavor" in
berth)
	(cd "$root" && go build -o bin/registry ./cmd/registry) || die "go build -o bin/registry ./cmd/registry failed"
	registry_bin="$root/bin/registry"
	ready_path=/healthz
	;;
distribution)
	registry_bin="$root/.tools/bin/distribution-registry"
	[ -x "$registry_bin" ] || die "$registry_bin is missing; run scripts/install-tools.sh"
	ready_path=/v2/
	;;
*) die "CONFORMANCE_REGISTRY=$flavor: want berth or distribution" ;;
esac
if [ -n "$auth" ] && [ "$flavor" != berth ]; then
	die "CONFORMANCE_AUTH=1 runs Berth's own token issuer; Distribution has none (unset it, or use CONFORMANCE_REGISTRY=berth)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-conformance.XXXXXX")"
results="${CONFORMANCE_RESULTS_DIR:-$work/results}"
mkdir -p "$results" "$work/storage" "$work/cwd"
registry_log="$results/registry.log"
: >"$registry_log"
pid=""
suite_pid=""

cleanup() {
	if [ -n "$suite_pid" ]; then
		kill -TERM "$suite_pid" 2>/dev/null || true
		wait "$suite_pid" 2>/dev/null || true
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work/storage" "$work/cwd" "$work/config.yml" "$work/htpasswd"
	# Keep the temp dir only when it holds the results of a whole run.
	if [ -n "$interrupted" ] && [ -z "${CONFORMANCE_RESULTS_DIR:-}" ]; then
		rm -rf "$work"
	fi
	rmdir "$work" 2>/dev/null || true
}
interrupted=""
trap cleanup EXIT
trap 'interrupted=1; exit 130' INT TERM

# port_free reports whether nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start launches the registry on $addr; it fails when the process exits or
# does not answer 200 on $ready_path within 15s.
start() {
	local env=(env)
	# A REGISTRY_* setting in the caller's shell must not change the registry.
	local name
	for name in $(compgen -e); do
		case "$name" in REGISTRY_*) env+=(-u "$name") ;; esac
	done
	env+=(REGISTRY_HTTP_ADDR="$addr" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$work/storage")
	if [ -n "$auth" ]; then
		env+=(REGISTRY_AUTH_TOKEN_HTPASSWD="$work/htpasswd")
	fi
	local args=(serve)
	if [ "$flavor" = distribution ]; then
		cat >"$work/config.yml" <<-EOF
			version: 0.1
			http:
			  addr: $addr
			storage:
			  delete:
			    enabled: true
			  filesystem:
			    rootdirectory: $work/storage
		EOF
		env+=(OTEL_TRACES_EXPORTER=none)
		args+=("$work/config.yml")
	fi
	# Run from an empty directory so a default ./data never lands in the repo.
	(cd "$work/cwd" && exec "${env[@]}" "$registry_bin" "${args[@]}") >>"$registry_log" 2>&1 &
	pid=$!
	for _ in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; pid=""; return 1; }
		if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$addr$ready_path")" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
	return 1
}

# With auth, one user with a random password; it goes to the suite only.
auth_env=()
if [ -n "$auth" ]; then
	password="$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
	printf '%s\n' "$password" | "$registry_bin" user add --htpasswd "$work/htpasswd" admin >/dev/null ||
		die "registry user add --htpasswd $work/htpasswd admin failed"
	auth_env=(OCI_USERNAME=admin OCI_PASSWORD="$password")
	log "token auth on: user admin in $work/htpasswd"
fi

started=""
for attempt in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" || continue
	addr="127.0.0.1:$port"
	log "starting $flavor ($registry_bin) on $addr, storage $work/storage (attempt $attempt)"
	if start; then
		started=1
		break
	fi
	log "$flavor did not come up on $addr; its output:"
	tail -n 40 "$registry_log" >&2
done
[ -n "$started" ] || die "could not start $flavor; log: $registry_log"

# A run meant to be authenticated proves nothing if the registry is open.
if [ -n "$auth" ]; then
	headers="$(curl -s -o /dev/null -D - --max-time 5 "http://$addr/v2/" | tr -d '\r')"
	status="$(printf '%s\n' "$headers" | awk 'NR == 1 { print $2 }')"
	challenge="$(printf '%s\n' "$headers" | sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: //p')"
	case "$status $challenge" in
	"401 Bearer realm="*) log "anonymous GET /v2/ refused: $status, $challenge" ;;
	*) die "token auth is not on: anonymous GET /v2/ answered \"$status $challenge\", want 401 with a Bearer challenge" ;;
	esac
fi

# The suite reads ./oci-conformance.yaml when present: run it from an empty
# directory so only the settings below (and the caller's OCI_*) apply.
suite_out="$results/suite.out"
set +e
(
	cd "$work/cwd" &&
		OCI_VERSION="${OCI_VERSION:-1.1}" \
		OCI_LOG="${OCI_LOG:-error}" \
		OCI_REGISTRY="$addr" \
		OCI_TLS=disabled \
		OCI_REPO1="${OCI_REPO1:-conformance/repo1}" \
		OCI_REPO2="${OCI_REPO2:-conformance/crossmount}" \
		OCI_API_PULL=true \
		OCI_API_PUSH=true \
		OCI_API_TAGS_LIST=true \
		OCI_API_REFERRER=true \
		OCI_API_TAGS_DELETE=true \
		OCI_API_MANIFESTS_DELETE=true \
		OCI_API_BLOBS_DELETE=true \
		OCI_RESULTS_DIR="$results" \
		exec env ${auth_env[@]+"${auth_env[@]}"} "$suite"
) >"$suite_out" 2>"$results/suite.err" &
# In the background so a signal to this script runs cleanup at once.
suite_pid=$!
wait "$suite_pid"
suite_rc=$?
suite_pid=""
set -e

cat "$results/suite.err" >&2
if [ "${CONFORMANCE_VERBOSE:-}" = 1 ]; then
	cat "$suite_out"
else
	# The tests that did not pass, each with its errors, then the totals.
	awk '
		/^Test results$/ { tree = 1; next }
		/^Configuration:$/ { tree = 0 }
		/^OCI Conformance Result:/ { summary = 1 }
		tree && /: (FAIL|Error|Skip|Unknown)$/ { show = 1; print; next }
		tree && /^ *- / { if (show) print; next }
		tree { show = 0 }
		summary { print }
	' "$suite_out"
fi

# The suite returns 0 without running when its config or setup fails, so a
# pass needs both its exit status and its own verdict line.
if ! grep -q '^OCI Conformance Result:' "$suite_out" || [ ! -f "$results/junit.xml" ]; then
	log "the suite did not run (exit status $suite_rc); its output:"
	cat "$suite_out" >&2
	log "registry log: $registry_log"
	exit 2
fi
"$failures" "$results/junit.xml" >"$results/failures.txt" || true
log "results: $results (failures.txt, report.html, junit.xml, results.yaml, suite.out, registry.log)"
if [ "$suite_rc" -ne 0 ] || ! grep -q '^OCI Conformance Result: Pass$' "$suite_out"; then
	log "FAIL: $flavor${auth:+ with token auth} does not pass the OCI conformance suite ($suite_version)"
	exit 1
fi
log "PASS: $flavor${auth:+ with token auth} passes the OCI conformance suite ($suite_version)"
