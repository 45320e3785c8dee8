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
