# syntax=docker/dockerfile:1
# gatehouse container image: build on Node 24, run on distroless Node 24 as UID 65532.
#
#   docker build -t gatehouse:dev .
#   docker run --rm --read-only --tmpfs /tmp -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/examples:/etc/gatehouse:ro" gatehouse:dev
#
# CMD is `serve --config /etc/gatehouse/gatehouse.yaml`, so the example mounts the whole
# examples/ folder there: gatehouse.yaml and the policies/ folder beside it (a relative path in a
# config file is read from the file's folder, so `directory: policies` is
# /etc/gatehouse/policies). What it gives you: the example policies answering checks on
# :8080 (the README's `curl …/authz/nginx?host=app.localhost` commands: 200, 401 with a sign-in
# Location, 403) and /healthz and /metrics on :9090. Not sign-in: `gatehouse serve` does not
# start the development identity provider (`devIdentityProvider` is read by `make run`, and
# oidc-provider is not in the image), so discovery of the `dev` provider at 127.0.0.1:9400 keeps
# retrying, /readyz answers 503 (`"providers": false`) and /oauth2/start 503. For sign-in, mount
# a config whose `providers` name a real OpenID Provider, with its secret in a file
# (clientSecretFile), or run `make run` from a checkout.
#
# scripts/image/build-without-docker.sh replays these steps without a Docker engine (CI has none)
# and checks the result: production dependencies only, starts on a read-only tree as a non-root
# user, answers /readyz and a check, stops cleanly on SIGTERM. Keep the two in step.
#
# Runtime base: gcr.io/distroless/nodejs24-debian12 rather than node:24-bookworm-slim. Distroless
# holds Node, glibc, CA certificates and tzdata and nothing else: no shell, no package manager, no
# npm (whose own dependencies are a recurring source of scanner findings), so a compromised process
# has no tools to work with and the image has far fewer CVEs to triage. Its `nonroot` tag already
# runs as UID/GID 65532. The price: no shell for `kubectl exec` debugging (use `kubectl debug
# --image=busybox --target=gatehouse`), and Node lives at /nodejs/bin/node, not on PATH.

ARG NODE_VERSION=24
ARG DISTROLESS_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: the whole toolchain (TypeScript, the pinned `node` devDependency) --------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only, without install scripts ---------------------------------------
# --omit=dev leaves out TypeScript, vitest, oidc-provider and the `node` package (the runtime
# image brings its own Node 24). --ignore-scripts: no production dependency needs one, and a
# dependency's install script is the classic supply-chain foothold.
FROM node:${NODE_VERSION}-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------------------
FROM ${DISTROLESS_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="gatehouse" \
      org.opencontainers.image.description="External-auth service for Kubernetes ingress: ingress-nginx auth-url, Traefik/Caddy forward-auth and Envoy ext_authz, with OIDC sign-in, Redis sessions and policy from custom resources." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/gatehouse/gatehouse" \
      org.opencontainers.image.documentation="https://github.com/gatehouse/gatehouse/blob/main/docs/install.md" \
      org.opencontainers.image.base.name="${DISTROLESS_IMAGE}"

WORKDIR /app
# Owned by root and not writable by the process: the code cannot be changed at run time even
# where the root filesystem is left writable.
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./

ENV NODE_ENV=production
# V8's young generation at its measured size (docs/benchmarks.md): left alone V8 grows it to
# 64 MiB on a large host or shrinks it to about 1 MiB under a small memory limit. The Helm
# chart and manifests/install.yaml set NODE_OPTIONS themselves (values heap), old space included.
ENV NODE_OPTIONS=--max-semi-space-size=8
# `gatehouse version` and the gatehouse_build_info metric name the commit the image was built from
# (docker build --build-arg REVISION=$(git rev-parse HEAD)); src/build-info.ts ignores a value
# that is not a commit hash, such as the default `unknown`.
ENV GATEHOUSE_BUILD_COMMIT=${REVISION}
# Numeric so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 9090

# Exec form: node is PID 1 and receives SIGTERM itself. gatehouse handles SIGTERM and SIGINT
# (src/cli/commands/serve.ts): readiness fails, it waits server.shutdownDelay so endpoints drop
# the pod, drains in-flight requests for up to server.shutdownTimeout, closes Redis and the
# watches, and exits 0. No init process is needed: gatehouse starts no child processes, so
# there are no zombies to reap. It writes nothing outside /tmp (mount an emptyDir there), so the
# root filesystem can be read-only.
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/gatehouse.js"]
CMD ["serve", "--config", "/etc/gatehouse/gatehouse.yaml"]
