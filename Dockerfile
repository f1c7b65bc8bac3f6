# syntax=docker/dockerfile:1
# Build stage: bundle the CLI with the dev toolchain (scripts/build.mjs, esbuild). The bundle is plain
# JavaScript, the same for every architecture, so a multi-arch build (release.yml: linux/amd64,linux/arm64)
# runs this stage once, natively on the builder, instead of once per target under emulation.
FROM --platform=$BUILDPLATFORM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# esbuild reads tsconfig.json for how to compile TypeScript (class fields, module syntax)
COPY tsconfig.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build

# Runtime stage: the bundle needs no node_modules (every dependency is inside dist/: wildseal.mjs and the
# chunk-*.mjs it imports, a command's libraries only when that command runs; their licences in
# dist/THIRD-PARTY-LICENSES.txt);
# git for delivery, non-root.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# package.json: `--version` and the demo find the package root by walking up from dist/
COPY --from=build /app/package.json ./
# the whole folder: wildseal.mjs, its chunks and seal-worker.mjs (the sealing worker thread, found next
# to the chunk that starts it) must stay side by side
COPY --from=build /app/dist ./dist
# The embedded default for `wildseal demo`: the project's own example GitOps repository (public data only).
COPY wildseal.yaml ./
COPY tenants ./tenants
COPY templates ./templates
COPY clusters ./clusters
# Read-only root file system: the runtime writes nothing outside TMPDIR (temporary clones, the demo's
# throwaway world, git's scratch files, Node's compile cache of the chunks), so run it with readOnlyRootFilesystem: true / `docker run
# --read-only` and mount a writable volume on /tmp: an emptyDir (medium: Memory for tmpfs) in
# Kubernetes, `--tmpfs /tmp` with docker (checked: `wildseal demo` with / read-only and a tmpfs on /tmp).
# Point HOME there too when using ssh remotes (the Helm chart sets HOME=/tmp): ssh records known hosts
# under HOME, and /home/node is read-only then.
ENV TMPDIR=/tmp
# Node (>= 22.1) keeps V8's compiled code of the chunks a command loads here, so the next run of the
# same command skips compiling them. Set here rather than enabled in code: on a shared workstation
# the default folder would be under a /tmp other users can write to; in the container /tmp is ours.
ENV NODE_COMPILE_CACHE=/tmp/node-compile-cache
USER node
ENTRYPOINT ["node", "/app/dist/wildseal.mjs"]
CMD ["--help"]
