#!/usr/bin/env bash
# Makes sure the tools the benchmark suite (bench/run.ts, `make bench`) drives are present:
#   - wrk, the closed-loop HTTP load generator, from Debian (installed when missing; root);
#   - openloop, the open-loop generator of the half-load figures (bench/openloop/openloop.c,
#     built with the system C compiler): Debian has no wrk2, a Node generator could not hold
#     (a)'s half-load rate and vegeta's Go timers round sub-millisecond sleeps up (issue 17);
#   - oauth2-proxy, the reference point of scenario (h), built from its Go module (pinned
#     below) into the tools cache, because release binaries cannot be downloaded in our
#     build environments; only the Go module proxy is reachable.
# Same conventions as scripts/kube/build.sh: nice, one build at a time (flock), build-info.txt
# next to the binary, nothing to do (and no Go needed) when it is already cached, a loud failure
# without Go.
#
# Usage:
#   scripts/bench/ensure-tools.sh                 install wrk and build oauth2-proxy if missing
#   scripts/bench/ensure-tools.sh wrk             only wrk
#   scripts/bench/ensure-tools.sh openloop        only openloop
#   scripts/bench/ensure-tools.sh oauth2-proxy    only oauth2-proxy
#   scripts/bench/ensure-tools.sh --print-paths   print WRK=, OPENLOOP= and OAUTH2_PROXY=<path>, exit
#
# Environment:
#   GATEHOUSE_TOOLS_DIR              cache root (default: <repo>/.tools, git-ignored)
#   GATEHOUSE_GO_BUILD_PARALLELISM   `go build -p` (default 2: the machines have 2 shared cores)
#   GO                               Go binary (default: `go` on PATH, then /usr/local/go/bin/go)
#
# Output (delete the folder to rebuild):
#   $GATEHOUSE_TOOLS_DIR/oauth2-proxy/<OAUTH2_PROXY_VERSION>/oauth2-proxy (+ build-info.txt)
#   $GATEHOUSE_TOOLS_DIR/openloop/<first 16 hex of the source's SHA-256>/openloop
set -euo pipefail

# The newest v7 on the module proxy when the suite was written; its go.mod says `go 1.26.0`,
# so it builds with the Go 1.26 the machines have (GOTOOLCHAIN=local below refuses anything
# that would need a toolchain download).
OAUTH2_PROXY_VERSION=v7.15.3
OAUTH2_PROXY_MODULE=github.com/oauth2-proxy/oauth2-proxy/v7

TOOL_LOG_PREFIX=bench-tools
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-tool.sh"
oauth2_proxy_dir="${tools_dir}/oauth2-proxy/${OAUTH2_PROXY_VERSION}"
oauth2_proxy_bin="${oauth2_proxy_dir}/oauth2-proxy"
openloop_source="${tool_repo_root}/bench/openloop/openloop.c"
# Keyed by the source, so an edited generator is rebuilt and an old binary never measures.
openloop_dir="${tools_dir}/openloop/$(sha256sum "${openloop_source}" | cut -c1-16)"

mode=${1:-all}
case "${mode}" in
  --print-paths)
    printf 'WRK=%s\nOPENLOOP=%s\nOAUTH2_PROXY=%s\n' "$(command -v wrk || echo /usr/bin/wrk)" \
      "${openloop_dir}/openloop" "${oauth2_proxy_bin}"
    exit 0
    ;;
  all | wrk | openloop | oauth2-proxy) ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '${mode}' (expected: all, wrk, openloop, oauth2-proxy, --print-paths)" ;;
esac

ensure_wrk() {
  if command -v wrk >/dev/null 2>&1; then
    log "wrk: ok ($(command -v wrk))"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || die "wrk is missing and apt-get is not available; install wrk by hand"
  [[ "$(id -u)" -eq 0 ]] || die "wrk is missing; run as root or install it: sudo apt-get install -y wrk"
  log "wrk: apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  log "wrk: installing from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
  command -v wrk >/dev/null 2>&1 || die "wrk is still missing after apt-get install wrk"
  log "wrk: installed ($(command -v wrk))"
}

ensure_oauth2_proxy() {
  if [[ -x "${oauth2_proxy_bin}" ]]; then
    log "oauth2-proxy ${OAUTH2_PROXY_VERSION}: already built (delete to rebuild): ${oauth2_proxy_bin}"
    return
  fi
  go_env "oauth2-proxy ${OAUTH2_PROXY_VERSION} for benchmark scenario (h) (or leave (h) out: node bench/run.ts --scenarios a,a2,b,...)"
  # One build at a time (two `make bench` runs may race).
  take_lock oauth2-proxy-build
  if [[ -x "${oauth2_proxy_bin}" ]]; then
    log "oauth2-proxy ${OAUTH2_PROXY_VERSION}: built by the other run: ${oauth2_proxy_bin}"
    return
  fi
  local started=${SECONDS}
  mkdir -p "${oauth2_proxy_dir}"
  local src="${tools_dir}/src/oauth2-proxy-${OAUTH2_PROXY_VERSION}"
  mkdir -p "${src}"
  # `go install module@version` is the documented build, but it also looks up the module's
  # deprecation through the proxy's version list (`@v/list`), which the module proxy reachable
  # here refuses (403), failing the install. A consumer module that requires the pinned version
  # and builds its main package gives the same build list: oauth2-proxy's go.mod has no
  # replace/exclude directives (checked below), which is the only way the two could differ
  # (https://go.dev/ref/mod#go-install).
  {
    printf '// Generated by scripts/bench/ensure-tools.sh; do not edit.\n'
    printf 'module gatehouse.local/tools/oauth2-proxy\n\ngo 1.26.0\n\n'
    printf 'require %s %s\n' "${OAUTH2_PROXY_MODULE}" "${OAUTH2_PROXY_VERSION}"
  } >"${src}/go.mod"
  rm -f "${src}/go.sum"
  # A blank import keeps `go mod tidy` from dropping the requirement.
  cat >"${src}/tools.go" <<GO
// Generated by scripts/bench/ensure-tools.sh; do not edit.
//go:build tools

package tools

import _ "${OAUTH2_PROXY_MODULE}"
GO
  log "oauth2-proxy ${OAUTH2_PROXY_VERSION}: Go $("${go_bin}" version); go build -p=${parallelism}, nice 10"
  # The version stamp as upstream's Makefile sets it, so `oauth2-proxy --version` tells.
  local ldflags="-s -w -X ${OAUTH2_PROXY_MODULE}/pkg/version.VERSION=${OAUTH2_PROXY_VERSION}"
  local -a cmd=(go build -trimpath "-ldflags=${ldflags}" -o "${oauth2_proxy_bin}.partial" "${OAUTH2_PROXY_MODULE}")
  (
    cd "${src}"
    go_ mod tidy -e
    local gomod
    gomod=$(go_ list -m -f '{{.GoMod}}' "${OAUTH2_PROXY_MODULE}")
    if grep -Eq '^[[:space:]]*(replace|exclude)\b' "${gomod}"; then
      echo "${gomod} has replace/exclude directives: the consumer build would differ from go install" >&2
      exit 1
    fi
    go_ "${cmd[@]:1}"
  ) || die "building ${OAUTH2_PROXY_MODULE}@${OAUTH2_PROXY_VERSION} failed in ${src}"
  mv -f "${oauth2_proxy_bin}.partial" "${oauth2_proxy_bin}"
  local seconds=$((SECONDS - started))
  write_build_info "${oauth2_proxy_dir}" oauth2-proxy "${OAUTH2_PROXY_VERSION}" "${seconds}" \
    "cd ${src} && GOTOOLCHAIN=local CGO_ENABLED=0 ${cmd[*]}"
  log "oauth2-proxy ${OAUTH2_PROXY_VERSION}: built ${oauth2_proxy_bin} in ${seconds}s"
}

ensure_openloop() {
  if [[ -x "${openloop_dir}/openloop" ]]; then
    log "openloop: ok (${openloop_dir}/openloop)"
    return
  fi
  local cc=${CC:-cc}
  if ! command -v "${cc}" >/dev/null 2>&1 && [[ -z "${CC:-}" ]]; then
    # As for wrk: Debian's compiler, installed when missing (root only).
    command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]] ||
      die "no C compiler to build bench/openloop/openloop.c for the half-load figures: install gcc (apt-get install gcc), set CC, or skip them with node bench/run.ts --no-half-load"
    log "openloop: installing gcc from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
  fi
  command -v "${cc}" >/dev/null 2>&1 ||
    die "no C compiler (${cc}) to build bench/openloop/openloop.c: install gcc (apt-get install gcc), set CC, or skip the half-load figures with node bench/run.ts --no-half-load"
  mkdir -p "${openloop_dir}"
  "${cc}" -O2 -Wall -Wextra -Werror -o "${openloop_dir}/openloop.partial" "${openloop_source}" ||
    die "compiling ${openloop_source} failed"
  mv -f "${openloop_dir}/openloop.partial" "${openloop_dir}/openloop"
  log "openloop: built ${openloop_dir}/openloop"
}

case "${mode}" in
  all)
    ensure_wrk
    ensure_openloop
    ensure_oauth2_proxy
    ;;
  wrk) ensure_wrk ;;
  openloop) ensure_openloop ;;
  oauth2-proxy) ensure_oauth2_proxy ;;
esac
