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

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "${script_dir}/../.." && pwd)
tools_dir=${GATEHOUSE_TOOLS_DIR:-${repo_root}/.tools}
parallelism=${GATEHOUSE_GO_BUILD_PARALLELISM:-2}
out_dir="${tools_dir}/helm/${HELM_VERSION}"
helm_bin="${out_dir}/helm"

log() { printf '[helm-build] %s\n' "$*" >&2; }
die() {
  printf '[helm-build] ERROR: %s\n' "$*" >&2
  exit 1
}

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

if [[ -x "${helm_bin}" ]]; then
  log "helm ${HELM_VERSION}: already built at ${helm_bin} (delete the folder to rebuild)"
  printf '%s\n' "${helm_bin}"
  exit 0
fi

if [[ -n "${GO:-}" ]]; then
  [[ -x "${GO}" ]] || die "GO=${GO} is not an executable Go toolchain"
  go_bin=${GO}
elif command -v go >/dev/null 2>&1; then
  go_bin=$(command -v go)
elif [[ -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
else
  die "Go is not installed (not on PATH, not at /usr/local/go/bin/go). Install Go >= 1.26 or set GO=/path/to/go; it is needed to build helm ${HELM_VERSION} for the chart tests."
fi

export GOTOOLCHAIN=local
export GOWORK=off
export CGO_ENABLED=0
export GOMAXPROCS=${GOMAXPROCS:-${parallelism}}
export GOFLAGS="${GOFLAGS:-} -p=${parallelism} -trimpath"

mkdir -p "${tools_dir}"
if command -v flock >/dev/null 2>&1; then
  exec 9>"${tools_dir}/.helm-build.lock"
  if ! flock -n 9; then
    log "another build holds ${tools_dir}/.helm-build.lock; waiting for it"
    flock 9
  fi
  # The build we waited for may have produced the binary.
  if [[ -x "${helm_bin}" ]]; then
    printf '%s\n' "${helm_bin}"
    exit 0
  fi
fi

log "Go: $("${go_bin}" version) (${go_bin}); go build -p=${parallelism}, nice 10"
started=${SECONDS}
staging="${out_dir}.partial"
rm -rf "${staging}"
mkdir -p "${staging}" "${out_dir}"
# Helm stamps its version through ldflags (Makefile: LDFLAGS += -X helm.sh/helm/v3/internal/version.version=...);
# without it `helm version` reports v3.x-dev.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
cmd=(go install "-ldflags=${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}")
# Run outside any module so the repository has no say in the build.
(cd "${staging}" && GOBIN="${staging}" nice -n 10 "${go_bin}" "${cmd[@]:1}") ||
  die "go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} failed"
mv -f "${staging}/helm" "${helm_bin}"
rm -rf "${staging}"
seconds=$((SECONDS - started))
{
  printf 'binary=helm\nversion=%s\n' "${HELM_VERSION}"
  printf 'go=%s\n' "$("${go_bin}" version)"
  printf 'built_at=%s\nbuild_seconds=%s\nparallelism=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${seconds}" "${parallelism}"
  printf 'command=GOBIN=%s %s\n' "${out_dir}" "${cmd[*]}"
} >"${out_dir}/build-info.txt"
log "helm ${HELM_VERSION}: built ${helm_bin} in ${seconds}s"
printf '%s\n' "${helm_bin}"
