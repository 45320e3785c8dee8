#!/usr/bin/env bash
# Makes sure the pinned actionlint (the static checker for GitHub Actions workflows,
# https://github.com/rhysd/actionlint) exists, building it from its Go module with
# `go install github.com/rhysd/actionlint/cmd/actionlint@<version>` because release downloads are
# not reachable from our build environments; only the Go module proxy is. `make actionlint` and
# test/scripts/actionlint.test.ts run it over .github/workflows/.
#
# Same cache and conventions as scripts/helm/ensure-helm.sh (scripts/lib/go-tool.sh):
# GATEHOUSE_TOOLS_DIR (default <repo>/.tools), one folder per version with a build-info.txt,
# `nice`, a lock so two runs never build at once, GOTOOLCHAIN=local so a go directive never
# downloads a toolchain, and nothing to do when the binary is already cached.
#
# ACTIONLINT_VERSION: the newest release on the module proxy whose go.mod the local Go satisfies.
# actionlint runs shellcheck on `run:` scripts only when a `shellcheck` binary is on PATH; without
# one it skips that rule, and checks everything else (syntax, expressions, action inputs, ...).
#
# Usage:
#   scripts/actionlint/ensure-actionlint.sh                build when missing, print its path on stdout
#   scripts/actionlint/ensure-actionlint.sh --print-path   print where the binary is or will be, and exit
#   scripts/actionlint/ensure-actionlint.sh --check        exit 0 when the binary exists, 1 otherwise
#
# Environment:
#   GATEHOUSE_TOOLS_DIR              cache root (default: <repo>/.tools, git-ignored)
#   GATEHOUSE_GO_BUILD_PARALLELISM   `go build -p` (default 2: the build machines have 2 shared cores)
#   GO                               Go binary (default: `go` on PATH, then /usr/local/go/bin/go)
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12
ACTIONLINT_PACKAGE=github.com/rhysd/actionlint/cmd/actionlint

TOOL_LOG_PREFIX=actionlint-build
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-tool.sh"
out_dir="${tools_dir}/actionlint/${ACTIONLINT_VERSION}"
actionlint_bin="${out_dir}/actionlint"

case "${1:-build}" in
  --print-path)
    printf '%s\n' "${actionlint_bin}"
    exit 0
    ;;
  --check)
    [[ -x "${actionlint_bin}" ]]
    exit $?
    ;;
  build) ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (expected: --print-path, --check or nothing)" ;;
esac

# actionlint's releases stamp the version through ldflags (its .goreleaser.yaml:
# -X github.com/rhysd/actionlint.version=...); the same stamp here makes `actionlint -version`
# print the pinned version whatever the build info says.
go_install_tool actionlint "${ACTIONLINT_VERSION}" "${out_dir}" "${ACTIONLINT_PACKAGE}@${ACTIONLINT_VERSION}" \
  "-s -w -X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION#v}" \
  "which lints .github/workflows/ (make actionlint, make lint)"
