#!/usr/bin/env bash
# e2e.sh runs the end-to-end suite against a real kube-apiserver and etcd:
# it builds (or reuses) the cached binaries, then runs the nested test module;
# then the differential test of akssec's Gatekeeper engine against the real
# Gatekeeper constraint framework (the nested module test/gkdiff).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/test/e2e/build.sh"
cd "$root/test/e2e"
go vet ./...
go test -race -count=1 -timeout 30m ./...

cd "$root/test/gkdiff"
go vet ./...
go test -race -count=1 -timeout 30m ./...
