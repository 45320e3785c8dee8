#!/usr/bin/env bash
# Makes sure the third-party CRDs the examples/ manifests use are in the tools cache, taken from
# the Go modules of the projects that publish them (release downloads are not reachable from our
# build environments; only the Go module proxy is). test/integration/examples/ installs them into
# a real kube-apiserver and server-side dry-runs every example against their real schemas;
# test/e2e/traefik-gateway-api.test.ts runs a real Traefik on them.
#
#   Gateway API    sigs.k8s.io/gateway-api, config/crd/standard/ (GatewayClass, Gateway,
#                  HTTPRoute, ReferenceGrant; GRPCRoute and BackendTLSPolicy, which Traefik's
#                  Gateway API provider watches too)
#   Envoy Gateway  github.com/envoyproxy/gateway, the gateway-helm chart's generated
#                  SecurityPolicy CRD
#   Traefik        github.com/traefik/traefik/v3, the reference definition of every Traefik CRD
#                  (Middleware, IngressRoute, ...), at the version scripts/traefik/build.sh builds
#
# NGINX Gateway Fabric's and F5 NGINX Ingress Controller's modules are refused by the module
# proxy, so their CRDs are vendored in test/integration/examples/fixtures/ instead.
#
# Same cache conventions as scripts/lib/go-tool.sh: GATEHOUSE_TOOLS_DIR (default <repo>/.tools),
# one folder per module version, a lock, GOTOOLCHAIN=local; nothing to do (and no Go needed) when
# the files are cached. Nothing is built: `go mod download` only fetches and verifies the module
# zip against the checksum database.
#
# Usage:
#   scripts/ci/ensure-example-crds.sh               fetch what is missing, print the folder on stdout
#   scripts/ci/ensure-example-crds.sh --print-path  print the folder and exit
#
# Output: $GATEHOUSE_TOOLS_DIR/example-crds/<set>/ with gateway-api-<v>/, envoy-gateway-<v>/ and
# traefik-<v>/ holding the CRD files as published.
set -euo pipefail

GATEWAY_API_VERSION=v1.6.3
ENVOY_GATEWAY_VERSION=v1.9.1
TRAEFIK_VERSION=v3.6.12

TOOL_LOG_PREFIX=example-crds
# shellcheck source=scripts/lib/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-tool.sh"

# module@version|destination folder|files inside the module
sources=(
  "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}|gateway-api-${GATEWAY_API_VERSION}|config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml config/crd/standard/gateway.networking.k8s.io_gateways.yaml config/crd/standard/gateway.networking.k8s.io_httproutes.yaml config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml config/crd/standard/gateway.networking.k8s.io_backendtlspolicies.yaml"
  "github.com/envoyproxy/gateway@${ENVOY_GATEWAY_VERSION}|envoy-gateway-${ENVOY_GATEWAY_VERSION}|charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_securitypolicies.yaml"
  "github.com/traefik/traefik/v3@${TRAEFIK_VERSION}|traefik-${TRAEFIK_VERSION}|docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
)
# The folder name changes with the versions and the file list (its hash), so a change of either
# fetches again instead of serving a stale set.
files_hash=$(printf '%s\n' "${sources[@]}" | cksum | cut -d' ' -f1)
set_name="gateway-api-${GATEWAY_API_VERSION}_envoy-gateway-${ENVOY_GATEWAY_VERSION}_traefik-${TRAEFIK_VERSION}_${files_hash}"
out_dir="${tools_dir}/example-crds/${set_name}"

case "${1:-fetch}" in
  --print-path)
    printf '%s\n' "${out_dir}"
    exit 0
    ;;
  fetch) ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (expected: --print-path or nothing)" ;;
esac

if [[ -f "${out_dir}/complete" ]]; then
  log "already fetched at ${out_dir} (delete the folder to fetch again)"
  printf '%s\n' "${out_dir}"
  exit 0
fi

go_env "the Gateway API, Envoy Gateway and Traefik CRDs for the examples test"
take_lock example-crds
if [[ -f "${out_dir}/complete" ]]; then
  printf '%s\n' "${out_dir}"
  exit 0
fi

staging="${out_dir}.partial"
rm -rf "${staging}"
mkdir -p "${staging}"
for source in "${sources[@]}"; do
  IFS='|' read -r module destination files <<<"${source}"
  log "go mod download ${module}"
  # Outside any module, so the repository has no say; -modcacherw keeps the cache removable.
  module_dir=$(cd "${staging}" && go_ mod download -json "${module}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n "${module_dir}" && -d "${module_dir}" ]] ||
    die "could not download ${module} from the Go module proxy"
  mkdir -p "${staging}/${destination}"
  for file in ${files}; do
    [[ -f "${module_dir}/${file}" ]] || die "${module} has no ${file}: did the project move it?"
    cp "${module_dir}/${file}" "${staging}/${destination}/"
  done
done
chmod -R u+w "${staging}"
rm -rf "${out_dir}"
mv "${staging}" "${out_dir}"
printf '%s\n' "${sources[@]%%|*}" >"${out_dir}/complete"
log "fetched into ${out_dir}"
printf '%s\n' "${out_dir}"
