#!/usr/bin/env bash
# Installs the tools the build, lint and end-to-end tests need, at pinned
# versions. Go tools go into the project-local .tools/bin (gitignored); Debian
# packages (docker.io, skopeo) are installed with apt-get when missing and we
# run as root. Safe to run again: anything already present at the pinned
# version is left alone.
#
# Environment:
#   CI=true   a missing Debian package that cannot be installed (not root, no
#             apt-get) is an error instead of a warning.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

# Pinned versions. staticcheck 2026.2.2 (v0.8.2) is the first release line
# built for go1.26; older ones refuse to analyse go1.26 code.
crane_pkg=github.com/google/go-containerregistry/cmd/crane
crane_version=v0.22.1
staticcheck_pkg=honnef.co/go/tools/cmd/staticcheck
staticcheck_version=v0.8.2
distribution_pkg=github.com/distribution/distribution/v3/cmd/registry
distribution_version=v3.1.2
# versitygw is the S3 server the s3 driver's tests, the S3 end-to-end runs and
# the S3 benchmarks start on loopback (posix backend over a temp directory).
versitygw_pkg=github.com/versity/versitygw/cmd/versitygw
versitygw_version=v1.8.0

# podman is only the runtime benchmark's second reference (make bench).
apt_packages=(docker.io skopeo iptables podman)

log() { printf 'install-tools: %s\n' "$*"; }
die() { printf 'install-tools: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (want go1.26; try PATH=/usr/local/go/bin:\$PATH)"

# installed_version prints the main module version recorded in a Go binary,
# or nothing when the binary is absent or not a Go binary.
installed_version() {
	[ -x "$1" ] || return 0
	go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# go_tool NAME PKG VERSION installs PKG@VERSION as $bin/NAME.
go_tool() {
	local name=$1 pkg=$2 version=$3 have tmp
	have="$(installed_version "$bin/$name")"
	if [ "$have" = "$version" ]; then
		log "$name $version already installed"
		return 0
	fi
	log "installing $name $version (${have:-not installed} before)"
	# go install names the binary after the package directory; build into a
	# scratch GOBIN so the final name is ours and the swap is atomic.
	tmp="$(mktemp -d)"
	GOBIN="$tmp" go install "$pkg@$version" || {
		rm -rf "$tmp"
		die "go install $pkg@$version failed"
	}
	mv -f "$tmp/$(basename "$pkg")" "$bin/$name"
	rm -rf "$tmp"
	have="$(installed_version "$bin/$name")"
	[ "$have" = "$version" ] || die "$name: installed version '$have', want $version"
	log "installed $bin/$name $version"
}

go_tool crane "$crane_pkg" "$crane_version"
go_tool staticcheck "$staticcheck_pkg" "$staticcheck_version"
# Distribution's cmd/registry installs with plain `go install pkg@version`
# (its go.mod has no replace directives); it is renamed so it cannot be
# mistaken for our own bin/registry.
go_tool distribution-registry "$distribution_pkg" "$distribution_version"
go_tool versitygw "$versitygw_pkg" "$versitygw_version"

# Debian packages.
missing=()
for p in "${apt_packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	log "debian packages already installed: ${apt_packages[*]}"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	log "installing debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "apt-get update failed"
	apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
	log "installed debian packages: ${missing[*]}"
else
	msg="missing debian packages: ${missing[*]} (run this script as root on Debian, or install them yourself)"
	if [ "${CI:-}" = "true" ]; then
		die "$msg"
	fi
	log "warning: $msg"
fi

log "done; tools in $bin"
