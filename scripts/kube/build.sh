#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries used by gatehouse's Kubernetes
# integration tests (test/fixtures/kube/) from Go modules, because release
# binaries cannot be downloaded in our build environments; only the Go module
# proxy is reachable.
#
# Technique: for each binary a tiny consumer module (go.mod + main.go) is
# written into the cache folder. kube-apiserver's consumer requires the pinned
# k8s.io/kubernetes and `replace`s every staging module (k8s.io/api,
# k8s.io/apiserver, ...) with its published v0.<minor>.<patch> tag: the
# k8s.io/kubernetes go.mod requires them at v0.0.0 and points them at
# ./staging/src/..., and replace directives of dependencies are ignored by Go
# (https://go.dev/ref/mod#go-mod-file-replace), so the consumer has to repeat
# them. The list is derived from that go.mod, never hard-coded.
#
# Usage:
#   scripts/kube/build.sh                 build whatever is missing (both binaries)
#   scripts/kube/build.sh kube-apiserver  build only kube-apiserver
#   scripts/kube/build.sh etcd            build only etcd
#   scripts/kube/build.sh --print-paths   print KUBE_APISERVER=<path> and ETCD=<path>
#                                         (where the binaries are or will be) and exit
#   scripts/kube/build.sh --check         exit 0 when both binaries exist, 1 otherwise
#
# Environment:
#   GATEHOUSE_TOOLS_DIR              cache root (default: <repo>/.tools, git-ignored)
#   GATEHOUSE_GO_BUILD_PARALLELISM   `go build -p` (default 2; the build machines
#                                    have 2 shared cores, so do not raise it there)
#   GO                               Go binary to use (default: `go` on PATH, then
#                                    /usr/local/go/bin/go)
#
# Output (skipped when the binary already exists; delete the folder to rebuild):
#   $GATEHOUSE_TOOLS_DIR/kube/<KUBERNETES_VERSION>/kube-apiserver (+ build-info.txt)
#   $GATEHOUSE_TOOLS_DIR/etcd/<ETCD_VERSION>/etcd                (+ build-info.txt)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck source=scripts/kube/versions.env
source "${script_dir}/versions.env"
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION missing from scripts/kube/versions.env}"
: "${ETCD_VERSION:?ETCD_VERSION missing from scripts/kube/versions.env}"

TOOL_LOG_PREFIX=kube-build
# shellcheck source=scripts/lib/go-tool.sh
source "${script_dir}/../lib/go-tool.sh"
kube_apiserver_bin="${tools_dir}/kube/${KUBERNETES_VERSION}/kube-apiserver"
etcd_bin="${tools_dir}/etcd/${ETCD_VERSION}/etcd"

mode=${1:-all}
case "${mode}" in
  --print-paths)
    printf 'KUBE_APISERVER=%s\nETCD=%s\n' "${kube_apiserver_bin}" "${etcd_bin}"
    exit 0
    ;;
  --check)
    [[ -x "${kube_apiserver_bin}" && -x "${etcd_bin}" ]]
    exit $?
    ;;
  all | kube-apiserver | etcd) ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '${mode}' (expected: all, kube-apiserver, etcd, --print-paths, --check)" ;;
esac

# Nothing to do (and no Go needed) when the requested binaries are cached.
case "${mode}" in
  all) wanted=("${kube_apiserver_bin}" "${etcd_bin}") ;;
  kube-apiserver) wanted=("${kube_apiserver_bin}") ;;
  etcd) wanted=("${etcd_bin}") ;;
esac
all_cached=true
for bin in "${wanted[@]}"; do
  [[ -x "${bin}" ]] || all_cached=false
done
if [[ "${all_cached}" == true ]]; then
  log "already built (delete to rebuild): ${wanted[*]}"
  exit 0
fi

go_env "kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} for the Kubernetes tests (or set GATEHOUSE_SKIP_KUBE=1 to skip those tests)"

log "Go: $("${go_bin}" version) (${go_bin})"
log "cache: ${tools_dir}; go build -p=${parallelism}, nice 10"

take_lock kube-build

build_kube_apiserver() {
  if [[ -x "${kube_apiserver_bin}" ]]; then
    log "kube-apiserver ${KUBERNETES_VERSION}: already built at ${kube_apiserver_bin}"
    return
  fi
  local started=${SECONDS}
  local src="${tools_dir}/src/kube-apiserver-${KUBERNETES_VERSION}"
  local out_dir
  out_dir=$(dirname "${kube_apiserver_bin}")
  mkdir -p "${src}" "${out_dir}"
  log "kube-apiserver ${KUBERNETES_VERSION}: fetching k8s.io/kubernetes@${KUBERNETES_VERSION} go.mod"

  local k8s_gomod
  # Run outside any module (a go.mod left by an interrupted run must not matter).
  rm -f "${src}/go.mod" "${src}/go.sum"
  k8s_gomod=$(cd "${src}" && GOFLAGS= GOWORK=off go_ mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "${k8s_gomod}" ]] || die "could not download k8s.io/kubernetes@${KUBERNETES_VERSION} (is it on the module proxy?)"

  # Staging modules: `k8s.io/X => ./staging/src/k8s.io/X`, inside a replace
  # block or as a one-line replace directive.
  local staging
  staging=$(sed -nE 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/src/.*#\2#p' "${k8s_gomod}" | sort -u)
  [[ -n "${staging}" ]] || die "no ./staging replace directives found in ${k8s_gomod}"
  # v1.36.3 -> v0.36.3 (the staging repos are tagged v0.<minor>.<patch>).
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  log "kube-apiserver ${KUBERNETES_VERSION}: replacing $(wc -l <<<"${staging}") staging modules with ${staging_version}"

  {
    printf '// Generated by scripts/kube/build.sh; do not edit.\n'
    printf 'module gatehouse.local/tools/kube-apiserver\n\ngo 1.26.0\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "${KUBERNETES_VERSION}"
    local module
    while IFS= read -r module; do
      printf '\t%s => %s %s\n' "${module}" "${module}" "${staging_version}"
    done <<<"${staging}"
    printf ')\n'
  } >"${src}/go.mod"
  rm -f "${src}/go.sum"

  # Same as k8s.io/kubernetes/cmd/kube-apiserver/apiserver.go.
  cat >"${src}/main.go" <<'GO'
// Generated by scripts/kube/build.sh; do not edit.
// Mirrors k8s.io/kubernetes/cmd/kube-apiserver/apiserver.go.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric registration
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
GO

  log "kube-apiserver ${KUBERNETES_VERSION}: go mod tidy in ${src}"
  (cd "${src}" && go_ mod tidy) || die "go mod tidy failed in ${src}"

  # Version stamping as in hack/lib/version.sh, so /version and the server's
  # binary/emulation version report the real release instead of v0.0.0-master.
  local minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  local build_date
  build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local ldflags="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
    ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
  done

  log "kube-apiserver ${KUBERNETES_VERSION}: go build (this takes a long time on 2 cores)"
  local -a cmd=(go build -trimpath "-ldflags=${ldflags}" -o "${kube_apiserver_bin}.partial" .)
  (cd "${src}" && go_ "${cmd[@]:1}") || die "go build of kube-apiserver failed in ${src}"
  mv -f "${kube_apiserver_bin}.partial" "${kube_apiserver_bin}"
  local seconds=$((SECONDS - started))
  write_build_info "${out_dir}" kube-apiserver "${KUBERNETES_VERSION}" "${seconds}" "cd ${src} && ${cmd[*]}"
  log "kube-apiserver ${KUBERNETES_VERSION}: built ${kube_apiserver_bin} in ${seconds}s"
}

build_etcd() {
  if [[ -x "${etcd_bin}" ]]; then
    log "etcd ${ETCD_VERSION}: already built at ${etcd_bin}"
    return
  fi
  local started=${SECONDS}
  local src="${tools_dir}/src/etcd-${ETCD_VERSION}"
  local out_dir
  out_dir=$(dirname "${etcd_bin}")
  mkdir -p "${src}" "${out_dir}"

  {
    printf '// Generated by scripts/kube/build.sh; do not edit.\n'
    printf 'module gatehouse.local/tools/etcd\n\ngo 1.26.0\n\n'
    printf 'require go.etcd.io/etcd/server/v3 %s\n' "${ETCD_VERSION}"
  } >"${src}/go.mod"
  rm -f "${src}/go.sum"

  # Same as go.etcd.io/etcd/v3's main.go (the etcd server entry point).
  cat >"${src}/main.go" <<'GO'
// Generated by scripts/kube/build.sh; do not edit.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
GO

  log "etcd ${ETCD_VERSION}: go mod tidy in ${src}"
  (cd "${src}" && go_ mod tidy) || die "go mod tidy failed in ${src}"
  log "etcd ${ETCD_VERSION}: go build"
  local -a cmd=(go build -trimpath "-ldflags=-s -w" -o "${etcd_bin}.partial" .)
  (cd "${src}" && go_ "${cmd[@]:1}") || die "go build of etcd failed in ${src}"
  mv -f "${etcd_bin}.partial" "${etcd_bin}"
  local seconds=$((SECONDS - started))
  write_build_info "${out_dir}" etcd "${ETCD_VERSION}" "${seconds}" "cd ${src} && ${cmd[*]}"
  log "etcd ${ETCD_VERSION}: built ${etcd_bin} in ${seconds}s"
}

total_started=${SECONDS}
case "${mode}" in
  all)
    build_etcd
    build_kube_apiserver
    ;;
  etcd) build_etcd ;;
  kube-apiserver) build_kube_apiserver ;;
esac
log "done in $((SECONDS - total_started))s: KUBE_APISERVER=${kube_apiserver_bin} ETCD=${etcd_bin}"
