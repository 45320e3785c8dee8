#!/usr/bin/env bash
# CI drift check: fails when a committed generated file differs from what the source generates
# (docs/architecture.md "Custom resources": one schema generates the CRD manifests; a check fails when the
# generated files drift). Fix a failure with `node scripts/generate-crds.ts` and commit.
#
# The RBAC rules need no generation: charts/gatehouse/files/rbac-rules.yaml is itself the single
# source, read by the chart (.Files.Get) and by test/integration/kube/rbac.test.ts.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The Node 24 that package.json pins, never the machine's own node.
export PATH="$PWD/node_modules/.bin:$PATH"

node scripts/generate-crds.ts --check
