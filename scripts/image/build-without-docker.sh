#!/usr/bin/env bash
# Replays the Dockerfile's build steps without a Docker engine (CI has none) and checks that the
# result is a working image filesystem:
#
#   1. build dir: the files the Dockerfile copies (package*.json, tsconfig*.json, src/ minus tests,
#      as .dockerignore selects them), `npm ci`, `npm run build`;
#   2. runtime dir: package.json + package-lock.json + dist/, `npm ci --omit=dev --ignore-scripts`;
#      no devDependency may be present in its node_modules;
#   3. the runtime dir is made read-only (`chmod -R a-w`, the image's read-only root filesystem)
#      and gatehouse is started from it as UID/GID 65532 (the image's USER; as root, chmod alone
#      would not stop writes) on Node 24 (the build dir's `node` devDependency: the runtime dir has
#      none, the image brings its own), with a minimal config using examples/policies;
#   4. /readyz must answer 200, one /authz/nginx check must give the documented answer, and
#      SIGTERM must stop the process with exit status 0.
#
# Usage: scripts/image/build-without-docker.sh        (make image-check)
# Environment: GATEHOUSE_IMAGE_CHECK_KEEP=1 keeps the temp folder for inspection.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "${script_dir}/../.." && pwd)

log() { printf '[image-check] %s\n' "$*" >&2; }
die() {
  printf '[image-check] FAILED: %s\n' "$*" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-image-check.XXXXXX")
# The non-root user must be able to traverse into the folder.
chmod 755 "${work}"
server_pid=""
cleanup() {
  if [[ -n "${server_pid}" ]] && kill -0 "${server_pid}" 2>/dev/null; then kill -KILL "${server_pid}" || true; fi
  chmod -R u+w "${work}" 2>/dev/null || true
  if [[ "${GATEHOUSE_IMAGE_CHECK_KEEP:-0}" == 1 ]]; then
    log "kept ${work}"
  else
    rm -rf "${work}"
  fi
}
trap cleanup EXIT

npm_flags=(--prefer-offline --no-audit --no-fund --loglevel=error)

# --- 1. build stage ------------------------------------------------------------------------------
build="${work}/build"
mkdir -p "${build}"
log "build: copying the Dockerfile's inputs from the working tree into ${build}"
# Tracked and new (not ignored) files, as `docker build .` sees the working tree, narrowed to what
# the Dockerfile COPYs and .dockerignore lets through. Deleted-but-tracked files are skipped.
(
  cd "${repo_root}"
  git ls-files -z --cached --others --exclude-standard -- \
    package.json package-lock.json tsconfig.json tsconfig.build.json src |
    while IFS= read -r -d '' file; do
      [[ -f "${file}" ]] || continue
      case "${file}" in *.test.ts | *.contract.ts) continue ;; esac
      printf '%s\0' "${file}"
    done |
    tar --null -T - -cf - | tar -xf - -C "${build}"
)
[[ -f "${build}/src/cli/gatehouse.ts" ]] || die "src/cli/gatehouse.ts was not copied"

log "build: npm ci"
(cd "${build}" && npm ci "${npm_flags[@]}") || die "npm ci failed in the build stage"
node24="${build}/node_modules/.bin/node"
[[ -x "${node24}" ]] || die "the build stage has no node_modules/.bin/node (the pinned node devDependency)"
node_major=$("${node24}" -p 'process.versions.node.split(".")[0]')
[[ "${node_major}" == 24 ]] || die "expected Node 24 from the node devDependency, got $("${node24}" --version)"
log "build: npm run build (Node $("${node24}" --version))"
(cd "${build}" && PATH="${build}/node_modules/.bin:${PATH}" npm run build --silent) || die "npm run build failed"
[[ -f "${build}/dist/cli/gatehouse.js" ]] || die "the build produced no dist/cli/gatehouse.js"

# --- 2. production dependencies ------------------------------------------------------------------
runtime="${work}/app"
mkdir -p "${runtime}"
cp "${build}/package.json" "${build}/package-lock.json" "${runtime}/"
cp -R "${build}/dist" "${runtime}/dist"
log "runtime: npm ci --omit=dev --ignore-scripts"
(cd "${runtime}" && npm ci --omit=dev --ignore-scripts "${npm_flags[@]}") || die "npm ci --omit=dev failed"

# The lockfile marks every package reachable only from devDependencies with "dev": true; none of
# those may be installed. (A devDependency that a production dependency also needs, like
# @types/node for @kubernetes/client-node, is not marked and rightly stays.)
present=$("${node24}" -e '
  const { existsSync, readFileSync } = require("node:fs");
  const dir = process.argv[1];
  const lock = JSON.parse(readFileSync(dir + "/package-lock.json", "utf8"));
  const devOnly = Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => path !== "" && entry.dev === true && existsSync(dir + "/" + path))
    .map(([path]) => path.replace(/^.*node_modules\//, ""));
  console.log(devOnly.join(" "));
' "${runtime}")
[[ -z "${present}" ]] || die "packages only devDependencies need are in the runtime node_modules: ${present}"
for name in oidc-provider typescript vitest eslint fast-check node; do
  [[ ! -e "${runtime}/node_modules/${name}" ]] || die "${name} must not be in the runtime node_modules"
done
for name in koa ioredis jose openid-client; do
  [[ -d "${runtime}/node_modules/${name}" ]] || die "production dependency ${name} is missing"
done
log "runtime: $(find "${runtime}/node_modules" -mindepth 1 -maxdepth 1 | wc -l) entries in node_modules, no devDependency"

# --- 3. start it the way the image does ----------------------------------------------------------
free_port() { "${node24}" -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
main_port=$(free_port)
operations_port=$(free_port)
while [[ "${operations_port}" == "${main_port}" ]]; do operations_port=$(free_port); done

etc="${work}/etc/gatehouse"
mkdir -p "${etc}/policies" "${work}/tmp"
cp "${repo_root}"/examples/policies/*.yaml "${etc}/policies/"
cat >"${etc}/gatehouse.yaml" <<YAML
publicUrl: https://auth.example.com
listeners:
  main: { host: 127.0.0.1, port: ${main_port} }
  operations: { host: 127.0.0.1, port: ${operations_port} }
server: { shutdownDelay: 1s, shutdownTimeout: 5s }
policy:
  source: files
  files: { directory: ${etc}/policies, watch: true }
redirects: { allowedDomains: [.localhost] }
sessions: { store: memory }
YAML
chmod -R a-w "${runtime}" "${etc}"
# /tmp is the only writable place in the pod (an emptyDir).
chown 65532:65532 "${work}/tmp" 2>/dev/null || chmod 1777 "${work}/tmp"

run_as=()
if [[ "$(id -u)" == 0 ]]; then
  # Root ignores file modes; drop to the image's user so a write attempt really fails.
  run_as=(setpriv --reuid=65532 --regid=65532 --clear-groups --)
fi
log "start: ${run_as[*]} node dist/cli/gatehouse.js serve --config ${etc}/gatehouse.yaml (read-only app dir)"
(
  cd "${runtime}"
  exec env -i PATH=/usr/bin:/bin HOME=/nonexistent TMPDIR="${work}/tmp" NODE_ENV=production \
    "${run_as[@]}" "${node24}" dist/cli/gatehouse.js serve --config "${etc}/gatehouse.yaml"
) >"${work}/gatehouse.log" 2>&1 &
server_pid=$!

ready=false
for _ in $(seq 1 150); do
  kill -0 "${server_pid}" 2>/dev/null || break
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${operations_port}/readyz")" == 200 ]]; then
    ready=true
    break
  fi
  sleep 0.2
done
if [[ "${ready}" != true ]]; then
  cat "${work}/gatehouse.log" >&2
  die "/readyz never answered 200"
fi
log "ready: /readyz 200"

# --- 4. one check per documented outcome, then SIGTERM --------------------------------------------
check() { # <url> -> "<status> <location>"
  # As ingress-nginx asks with the documented auth-url (…/authz/nginx?host=$host): the routed
  # host in the query, here the URL's host (no port in these URLs).
  local host=${1#*://}
  host=${host%%/*}
  curl -s -o /dev/null -w '%{http_code} %header{location}' \
    -H "X-Original-URL: $1" -H 'X-Original-Method: GET' \
    "http://127.0.0.1:${main_port}/authz/nginx?host=${host}"
}
public=$(check 'https://app.localhost/public/logo.png')
[[ "${public}" == "200 "* ]] || die "a guest rule must allow (expected 200, got '${public}')"
signed_in=$(check 'https://app.localhost/orders')
[[ "${signed_in}" == "401 https://auth.example.com/oauth2/start?rd="* ]] ||
  die "a signed-in rule without a session must answer 401 with the sign-in Location (got '${signed_in}')"
log "checks: /authz/nginx public 200, protected '${signed_in%%\?*}?rd=…'"

kill -TERM "${server_pid}"
status=0
wait "${server_pid}" || status=$?
server_pid=""
if [[ "${status}" != 0 ]]; then
  cat "${work}/gatehouse.log" >&2
  die "gatehouse exited with status ${status} after SIGTERM (expected 0)"
fi
grep -q '"msg":"gatehouse stopped"' "${work}/gatehouse.log" || {
  cat "${work}/gatehouse.log" >&2
  die "no 'gatehouse stopped' log line: the shutdown did not run"
}
log "OK: built, production dependencies only, served from a read-only tree as 65532, exit 0 on SIGTERM"
