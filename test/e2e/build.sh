#!/usr/bin/env bash
# build.sh builds the real kube-apiserver and etcd the end-to-end tests start,
# from the Go module proxy, into a per-machine cache:
#
#   ${AKSSEC_E2E_CACHE:-$HOME/.cache/akssec-e2e}/kube-apiserver-v1.37.2
#   ${AKSSEC_E2E_CACHE:-$HOME/.cache/akssec-e2e}/etcd-v3.6.16
#
# It is idempotent: a binary is rebuilt only when it is missing or when the
# hash of its nested module (go.mod, go.sum, main.go) differs from the one
# recorded beside it. The first kube-apiserver build takes 10-16 minutes on
# 2 cores; later runs take a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${AKSSEC_E2E_CACHE:-$HOME/.cache/akssec-e2e}"
mkdir -p "$cache"

# build NAME VERSION MODULE_DIR PACKAGE
build() {
	local name=$1 version=$2 dir=$3 pkg=$4
	local bin="$cache/$name-$version"
	local want
	want="$(cd "$dir" && cat go.mod go.sum "$pkg"/*.go | sha256sum | cut -d' ' -f1)"
	if [[ -x "$bin" && -f "$bin.sha256" && "$(cat "$bin.sha256")" == "$want" ]]; then
		echo "build.sh: $name $version is cached at $bin"
		return 0
	fi
	echo "build.sh: building $name $version into $bin (the first kube-apiserver build takes 10-16 minutes)"
	local start=$SECONDS
	(cd "$dir" && go build -trimpath -o "$bin.tmp.$$" "./$pkg")
	mv -f "$bin.tmp.$$" "$bin"
	echo "$want" >"$bin.sha256"
	echo "build.sh: built $name in $((SECONDS - start)) s"
}

build etcd v3.6.16 "$here/etcd" etcd
build kube-apiserver v1.37.2 "$here/cluster" kube-apiserver
