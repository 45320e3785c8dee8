#!/usr/bin/env bash
# Makes sure the pinned Helm binary the chart tests use (test/integration/chart/) exists, building
# it from its Go module with `go install helm.sh/helm/v3/cmd/helm@<version>` because release
# downloads are not reachable from our build environments; only the Go module proxy is.
#
# Same cache and conventions as scripts/kube/build.sh: GATEHOUSE_TOOLS_DIR (default <repo>/.tools),
# one folder per version with a build-info.txt, `nice`, a lock so two test runs never build at
# once, GOTOOLCHAIN=local so a go directive never downloads a toolchain, and nothing to do when the
# binary is already cached.
#
# HELM_VERSION: the latest Helm v3 on the module proxy whose go.mod the local Go satisfies
# (v3.22.0 declares go 1.26.0). v3 rather than v4: the chart is apiVersion v2 and v3 is what most
# clusters' tooling still runs; the chart works with both.
#
# Usage:
#   scripts/helm/ensure-helm.sh                build Helm when missing, print its path on stdout
#   scripts/helm/ensure-helm.sh --print-path   print where the binary is or will be, and exit
#   scripts/helm/ensure-helm.sh --check        exit 0 when the binary exists, 1 otherwise
#
# Environment:
#   GATEHOUSE_TOOLS_DIR              cache root (default: <repo>/.tools, git-ignored)
#   GATEHOUSE_GO_BUILD_PARALLELISM   `go build -p` (default 2: the build machines have 2 shared cores)
#   GO                               Go binary (default: `go` on PATH, then /usr/local/go/bin/go)
set -euo pipefail

HELM_VERSION=v3.22.0

TOOL_LOG_PREFIX=helm-build
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-tool.sh"
out_dir="${tools_dir}/helm/${HELM_VERSION}"
helm_bin="${out_dir}/helm"

case "${1:-build}" in
  --print-path)
    printf '%s\n' "${helm_bin}"
    exit 0
    ;;
  --check)
    [[ -x "${helm_bin}" ]]
    exit $?
    ;;
  build) ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (expected: --print-path, --check or nothing)" ;;
esac

# Helm stamps its version through ldflags (Makefile: LDFLAGS += -X helm.sh/helm/v3/internal/version.version=...);
# without it `helm version` reports v3.x-dev.
go_install_tool helm "${HELM_VERSION}" "${out_dir}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" \
  "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  "for the chart tests"
