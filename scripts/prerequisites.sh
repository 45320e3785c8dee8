#!/usr/bin/env bash
# Makes sure the services and tools the test suite uses are present, installing them from
# Debian when they are missing, and fails loudly with the fix when it cannot.
set -euo pipefail

say() { printf '[prerequisites] %s\n' "$*"; }
fail() { printf '[prerequisites] ERROR: %s\n' "$*" >&2; exit 1; }

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    fail "need Debian package(s) $* but apt-get is not available; install them by hand"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    fail "need Debian package(s) $*; run as root or install them: sudo apt-get install -y $*"
  fi
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Redis at 127.0.0.1:6379 (session store tests use it for real) -------------------------
redis_port="${GATEHOUSE_TEST_REDIS_PORT:-6379}"
redis_up() {
  if command -v redis-cli >/dev/null; then
    [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = "PONG" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null
  fi
}
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting redis-server on 127.0.0.1:$redis_port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --logfile /tmp/gatehouse-redis.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || fail "Redis is not answering on 127.0.0.1:$redis_port (see /tmp/gatehouse-redis.log)"
fi
say "redis: ok (127.0.0.1:$redis_port)"

# --- nginx (with set-misc, as ingress-nginx renders auth-signin) and Caddy for test/e2e/ -------
# The e2e tests start their own nginx and Caddy processes on random loopback ports with configs
# in temporary directories; the system services are neither needed nor left running.
nginx_set_misc=/usr/lib/nginx/modules/ngx_http_set_misc_module.so
proxy_packages=()
command -v nginx >/dev/null || proxy_packages+=(nginx)
[ -f "$nginx_set_misc" ] || proxy_packages+=(libnginx-mod-http-set-misc)
command -v caddy >/dev/null || proxy_packages+=(caddy)
if [ "${#proxy_packages[@]}" -gt 0 ]; then
  apt_install "${proxy_packages[@]}"
  # Debian starts the packaged services on install where an init system runs them; they would
  # hold port 80 (nginx) and the admin port 2019 (Caddy) for nothing.
  if command -v service >/dev/null; then
    service nginx stop >/dev/null 2>&1 || true
    service caddy stop >/dev/null 2>&1 || true
  fi
  if [ -f /run/nginx.pid ]; then nginx -s quit >/dev/null 2>&1 || true; fi
fi
command -v nginx >/dev/null || fail "nginx is missing after installation (apt-get install nginx)"
[ -f "$nginx_set_misc" ] ||
  fail "$nginx_set_misc is missing (apt-get install libnginx-mod-http-set-misc)"
command -v caddy >/dev/null || fail "caddy is missing after installation (apt-get install caddy)"
say "nginx: ok ($(nginx -v 2>&1 | sed 's/^nginx version: //')), caddy: ok ($(caddy version | cut -d' ' -f1))"

# --- redis-sentinel and redis-cli for test/faults/ ---------------------------------------------
# The fault tests run their own redis-server, redis-sentinel and Redis Cluster processes on random
# loopback ports in temporary directories; the shared Redis above is never stopped. Debian's
# packages start a system service on install where an init system runs them: it would hold port
# 26379 for nothing.
redis_packages=()
command -v redis-sentinel >/dev/null || redis_packages+=(redis-sentinel)
command -v redis-cli >/dev/null || redis_packages+=(redis-tools)
if [ "${#redis_packages[@]}" -gt 0 ]; then
  apt_install "${redis_packages[@]}"
  if command -v service >/dev/null; then service redis-sentinel stop >/dev/null 2>&1 || true; fi
fi
command -v redis-sentinel >/dev/null ||
  fail "redis-sentinel is missing after installation (apt-get install redis-sentinel)"
command -v redis-cli >/dev/null || fail "redis-cli is missing after installation (apt-get install redis-tools)"
say "redis-sentinel: ok ($(redis-sentinel --version | cut -d' ' -f3))"

# --- Chromium for test/e2e/browser/ (driven by playwright-core through executablePath) ---------
# Debian's own build, not a Playwright download: the tests must run without network access, and
# playwright-core never fetches a browser. `chromium --version` prints a harmless shell warning
# from Debian's wrapper script on some machines; only its first line is kept. fonts-liberation is
# only a Recommends of chromium-common, which --no-install-recommends skips: without a font the
# pages would render without text, and the screenshot checks would rightly fail.
chromium=/usr/bin/chromium
chromium_packages=()
[ -x "$chromium" ] || chromium_packages+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || chromium_packages+=(fonts-liberation)
if [ "${#chromium_packages[@]}" -gt 0 ]; then apt_install "${chromium_packages[@]}"; fi
[ -x "$chromium" ] || fail "$chromium is missing after installation (apt-get install chromium)"
say "chromium: ok ($("$chromium" --version 2>/dev/null | head -n 1))"

# --- wrk for the benchmark harness's own tests (bench/*.test.ts) and `make bench` ---------------
command -v wrk >/dev/null || apt_install wrk
command -v wrk >/dev/null || fail "wrk is missing after installation (apt-get install wrk)"
say "wrk: ok"

# --- Traefik for test/e2e/traefik.test.ts and the differential test (test/differential/) -------
# Built from its Go module (v3.6.12; release binaries cannot be downloaded here), about 13
# minutes on 2 cores once, then cached in GATEHOUSE_TOOLS_DIR like kube-apiserver. The build
# script fails loudly, with the fix, when Go is missing.
bash "$(dirname "$0")/traefik/build.sh" >/dev/null
say "traefik: ok ($(bash "$(dirname "$0")/traefik/build.sh" --print-path))"

# --- oauth2-proxy v7.15.6 for test/e2e/oauth2-proxy-parity.test.ts (the /oauth2/auth drop-in) -----
# Built from its Go module like Traefik (about 5 minutes once, then cached by version).
bash "$(dirname "$0")/oauth2-proxy/build.sh" >/dev/null
say "oauth2-proxy: ok ($(bash "$(dirname "$0")/oauth2-proxy/build.sh" --print-path))"
