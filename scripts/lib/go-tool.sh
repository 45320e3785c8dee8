#!/usr/bin/env bash
# Shared helpers for the scripts that build test tools from their Go modules into the tools cache
# (release binaries cannot be downloaded in our build environments; only the Go module proxy is
# reachable). Source it after setting TOOL_LOG_PREFIX. Conventions: GATEHOUSE_TOOLS_DIR (default
# <repo>/.tools), one folder per version with a build-info.txt, `nice`, a lock so two runs never
# build at once, GOTOOLCHAIN=local so a go directive never downloads a toolchain.

: "${TOOL_LOG_PREFIX:=go-tool}"
tool_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools_dir=${GATEHOUSE_TOOLS_DIR:-${tool_repo_root}/.tools}
parallelism=${GATEHOUSE_GO_BUILD_PARALLELISM:-2}

log() { printf '[%s] %s\n' "${TOOL_LOG_PREFIX}" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "${TOOL_LOG_PREFIX}" "$*" >&2
  exit 1
}

# find_go <what it is needed for>
find_go() {
  if [[ -n "${GO:-}" ]]; then
    [[ -x "${GO}" ]] || die "GO=${GO} is not an executable Go toolchain"
    printf '%s' "${GO}"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s' /usr/local/go/bin/go
  else
    die "Go is not installed (not on PATH, not at /usr/local/go/bin/go). Install Go >= 1.26 or set GO=/path/to/go; it is needed to build $1."
  fi
}

# go_env: the environment every build uses; sets go_bin.
go_env() {
  go_bin=$(find_go "$1")
  export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
  export GOMAXPROCS=${GOMAXPROCS:-${parallelism}}
  export GOFLAGS="${GOFLAGS:-} -p=${parallelism} -buildvcs=false -modcacherw"
}

go_() { nice -n 10 "${go_bin}" "$@"; }

# take_lock <name>: one build at a time (vitest globalSetup and a manual run may race).
take_lock() {
  mkdir -p "${tools_dir}"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${tools_dir}/.$1.lock"
    if ! flock -n 9; then
      log "another build holds ${tools_dir}/.$1.lock; waiting for it"
      flock 9
    fi
  fi
}

write_build_info() { # <out-dir> <name> <version> <seconds> <command...>
  local dir=$1 name=$2 version=$3 seconds=$4
  shift 4
  {
    printf 'binary=%s\nversion=%s\n' "${name}" "${version}"
    printf 'go=%s\n' "$("${go_bin}" version)"
    printf 'built_at=%s\nbuild_seconds=%s\nparallelism=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${seconds}" "${parallelism}"
    printf 'command=%s\n' "$*"
  } >"${dir}/build-info.txt"
}

# go_install_tool <name> <version> <out-dir> <package@version> <ldflags> <what it is for>
# The rest of an ensure script that builds one binary with `go install`: prints <out-dir>/<name>
# when it is cached; otherwise builds it under a lock (outside any module, so the repository has
# no say in the build), writes build-info.txt and prints the path.
go_install_tool() {
  local name=$1 version=$2 out_dir=$3 package=$4 ldflags=$5 purpose=$6
  local bin="${out_dir}/${name}"
  if [[ -x "${bin}" ]]; then
    log "${name} ${version}: already built at ${bin} (delete the folder to rebuild)"
    printf '%s\n' "${bin}"
    return 0
  fi
  go_env "${name} ${version} ${purpose}"
  export GOFLAGS="${GOFLAGS} -trimpath"
  take_lock "${name}-build"
  # The build we waited for may have produced the binary.
  if [[ -x "${bin}" ]]; then
    printf '%s\n' "${bin}"
    return 0
  fi
  log "Go: $("${go_bin}" version) (${go_bin}); go build -p=${parallelism}, nice 10"
  local started=${SECONDS}
  local staging="${out_dir}.partial"
  rm -rf "${staging}"
  mkdir -p "${staging}" "${out_dir}"
  local cmd=(go install "-ldflags=${ldflags}" "${package}")
  (cd "${staging}" && GOBIN="${staging}" go_ "${cmd[@]:1}") ||
    die "go install ${package} failed (is the Go module proxy reachable, and does Go $("${go_bin}" env GOVERSION) satisfy its go.mod?)"
  [[ -x "${staging}/${name}" ]] || die "go install reported success but ${staging}/${name} is missing"
  mv -f "${staging}/${name}" "${bin}"
  rm -rf "${staging}"
  local seconds=$((SECONDS - started))
  write_build_info "${out_dir}" "${name}" "${version}" "${seconds}" "GOBIN=${out_dir} ${cmd[*]}"
  log "${name} ${version}: built ${bin} in ${seconds}s"
  printf '%s\n' "${bin}"
}
