#!/usr/bin/env bash
# Packages charts/gatehouse as a release artifact: `helm lint --strict` with the default values and
# every ci/ scenario, then `helm package` with the chart version and appVersion set to the
# application version of package.json (the chart follows the application's version), into
# out-dir. Prints the path of the .tgz on stdout.
#
# Refuses to package when Chart.yaml disagrees with package.json (appVersion, or the gatehouse
# image of the artifacthub.io/images annotation): the packaged Chart.yaml would advertise another
# image than the one it installs. Bump them together.
#
# Publish the result to an OCI registry (charts/gatehouse/README.md, "Install from an OCI registry"):
#   helm push <out-dir>/gatehouse-<version>.tgz oci://ghcr.io/<owner>/charts
#
# Usage: scripts/helm/package.sh <out-dir>
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "${script_dir}/../.." && pwd)
chart_dir="${repo_root}/charts/gatehouse"
[[ $# -eq 1 && -n $1 ]] || {
  printf 'usage: scripts/helm/package.sh <out-dir>\n' >&2
  exit 2
}
out_dir=$1
# The Node 24 that package.json pins, never the machine's own node.
export PATH="${repo_root}/node_modules/.bin:${PATH}"

die() {
  printf 'package.sh: %s\n' "$*" >&2
  exit 1
}

version=$(node -p 'require(process.argv[1]).version' "${repo_root}/package.json")
[[ ${version} =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
  die "package.json version '${version}' is not a semantic version, which Helm requires"

app_version=$(sed -n "s/^appVersion: *['\"]\{0,1\}\([^'\"]*\)['\"]\{0,1\} *$/\1/p" "${chart_dir}/Chart.yaml")
[[ ${app_version} == "${version}" ]] ||
  die "Chart.yaml appVersion '${app_version}' differs from package.json version '${version}'"
grep -q "image: ghcr.io/gatehouse/gatehouse:${version}\$" "${chart_dir}/Chart.yaml" ||
  die "Chart.yaml annotation artifacthub.io/images does not name ghcr.io/gatehouse/gatehouse:${version}"

helm_bin=$(bash "${script_dir}/ensure-helm.sh")
# No user Helm configuration, cache or repositories take part.
export HELM_CACHE_HOME="${repo_root}/.tools/helm-home/cache"
export HELM_CONFIG_HOME="${repo_root}/.tools/helm-home/config"
export HELM_DATA_HOME="${repo_root}/.tools/helm-home/data"

lint_args=(--strict)
"${helm_bin}" lint "${chart_dir}" "${lint_args[@]}" >&2
for values in "${chart_dir}"/ci/*-values.yaml; do
  "${helm_bin}" lint "${chart_dir}" "${lint_args[@]}" -f "${values}" >&2
done

mkdir -p "${out_dir}"
"${helm_bin}" package "${chart_dir}" --version "${version}" --app-version "${version}" \
  --destination "${out_dir}" >&2
package="${out_dir}/gatehouse-${version}.tgz"
[[ -f ${package} ]] || die "helm package wrote no ${package}"
printf '%s\n' "${package}"
