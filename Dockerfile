# syntax=docker/dockerfile:1
# vigil sidecar image: holds only the self-contained rootfs (its own ELF loader,
# libraries, bin/vigil, etc/vigil) and runs `vigil init` to copy it into the
# task volume. No shell, no package manager, no libc of the image is used.
#
#   docker build -t vigil:VERSION .                 (or: podman build --pull=never ...)
#   docker build --build-arg SOURCE=https://your/repo --build-arg REVISION=$(git rev-parse HEAD) ...
#
# The default (last) stage is the image for the build machine's architecture
# (x86_64 here; a native build on an arm64 host gives an arm64 one). The arm64
# (AWS Graviton) image cross-built on an x86_64 host is the target `arm64`
# (docs/arm64.md, "The image"):
#
#   podman build --pull=never --platform linux/arm64 --target arm64 -t vigil:VERSION-arm64 .
#
# The deps stage installs the packages listed in scripts/deps.sh (--build-only)
# and builds the minimal static libcurl (scripts/curl-minimal.sh, kept in that
# layer); the build stage builds the `rootfs` target without network; apt and compiler caches are build-cache mounts,
# so rebuilds after a source change recompile only what changed.
# (Stages are chosen by --target, never by a stage name computed from a build
# argument: podman 4.3 does not resolve those.)

ARG BASE=debian:bookworm-slim

# Build packages only (a stage of its own so it can be tagged and kept cached).
FROM ${BASE} AS deps
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/deps.sh scripts/curl-minimal.sh /src/scripts/
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && bash /src/scripts/deps.sh --build-only \
 && apt-get install -y -qq --no-install-recommends ccache >/dev/null

FROM deps AS build
WORKDIR /src
COPY . .
ARG VERSION=0.1.0
# The build tree stays out of the layer: only /rootfs is kept.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
 && cmake --build /tmp/build -j"$(nproc)" --target rootfs \
 && cp -a /tmp/build/rootfs /rootfs && rm -rf /tmp/build \
 && got="$(/rootfs/bin/vigil-launch --version)" \
 && { [ "$got" = "vigil ${VERSION}" ] || { echo "Dockerfile: ARG VERSION=${VERSION} but the built binary says '$got': update ARG VERSION (it labels the image)" >&2; exit 1; }; }

# --- arm64, cross-built on x86_64: the same packages plus Debian's aarch64 cross
# toolchain, the arm64 -dev packages and the arm64 static libcurl
# (scripts/cross-arm64.sh --no-binfmt: a build container cannot register binfmt;
# the build's generator runs under qemu-aarch64-static, named by the toolchain
# file). These stages run on x86_64 whatever --platform says (podman 4.3 does not
# define $BUILDPLATFORM for FROM; the cross build is from x86_64 only anyway).
FROM --platform=linux/amd64 ${BASE} AS cross-deps
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/deps.sh scripts/curl-minimal.sh scripts/cross-arm64.sh /src/scripts/
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && bash /src/scripts/deps.sh --build-only \
 && apt-get install -y -qq --no-install-recommends ccache >/dev/null \
 && bash /src/scripts/cross-arm64.sh --no-binfmt

FROM cross-deps AS cross-build
WORKDIR /src
COPY . .
ARG VERSION=0.1.0
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /tmp/build --toolchain /src/cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
 && cmake --build /tmp/build -j"$(nproc)" --target rootfs \
 && cp -a /tmp/build/rootfs /rootfs && rm -rf /tmp/build \
 && got="$(qemu-aarch64-static /rootfs/bin/vigil-launch --version)" \
 && { [ "$got" = "vigil ${VERSION}" ] || { echo "Dockerfile: ARG VERSION=${VERSION} but the built binary says '$got': update ARG VERSION (it labels the image)" >&2; exit 1; }; }

# The rootfs first in both final stages: podman 4.3's layer cache reuses a
# `FROM scratch` + ARG/LABEL layer whatever --platform was, so a default build
# after an arm64 one came out labelled linux/arm64 (checked with two small
# images); a first layer holding the rootfs (different per architecture) keeps
# the two apart.
FROM scratch AS arm64
COPY --from=cross-build /rootfs /vigil-rootfs
ARG VERSION=0.1.0
ARG SOURCE=""
ARG REVISION=""
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="vigil runtime-security sensor: init image that installs the sensor rootfs into an ECS task volume (vigil init)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/vigil-rootfs/bin/vigil-launch", "init"]

# --- the default: the image for the build machine's architecture
FROM scratch
COPY --from=build /rootfs /vigil-rootfs
ARG VERSION=0.1.0
ARG SOURCE=""
ARG REVISION=""
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="vigil runtime-security sensor: init image that installs the sensor rootfs into an ECS task volume (vigil init)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}"
ENTRYPOINT ["/vigil-rootfs/bin/vigil-launch", "init"]
