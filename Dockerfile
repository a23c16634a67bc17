# The one build recipe of jobtoken's releases. The build stage cross-compiles
# every platform with the release builder (./pkg/release/build: the toolchain
# go.mod pins, static, -trimpath, no build ID or VCS stamp), so the binaries
# a release ships are byte for byte the ones built here:
#
#   docker build --target binaries --output type=local,dest=out .
#
# gives out/bin/<platform>/jobtoken[.exe], out/SHA256SUMS and out/cli/ (what
# .ci/release builds and compares). The final stage is the container
# variant's image: the Linux binary, its post entry path and CA certificates,
# FROM scratch.
#
# Base images are build arguments so the image also builds where no registry
# can be reached: import a local toolchain image under the same tag, or pass
# --build-arg GO_IMAGE=<local tag> (.ci/docker-build does). GO_IMAGE's Go must
# be the one go.mod pins; the builder refuses any other.
ARG GO_IMAGE=golang:1.26.8-bookworm

FROM ${GO_IMAGE} AS build
ARG VERSION=dev
# Platforms to build, comma-separated; empty means every one. The image needs
# linux-x64 or linux-arm64, as the build's architecture is.
ARG PLATFORMS=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
RUN go run ./pkg/release/build -out /release -cli /release/cli -version "${VERSION}" -platforms "${PLATFORMS}"
# One binary, two names: the runner starts each stage with its own
# --entrypoint and the same args, so the post stage is told apart by argv[0].
# The image holds the step binary, as the action tree does (not the CLI's).
RUN case "$(go env GOARCH)" in amd64) arch=x64 ;; *) arch="$(go env GOARCH)" ;; esac \
 && mkdir -p /image/etc/ssl/certs \
 && cp "/release/bin/linux-${arch}/jobtoken" /image/jobtoken \
 && ln -s jobtoken /image/jobtoken-post \
 && cp /etc/ssl/certs/ca-certificates.crt /image/etc/ssl/certs/

FROM scratch AS binaries
COPY --from=build /release/ /

# No USER line: the runner's file-command files belong to the runner user and
# GitHub runs container actions as the image's default user (root).
FROM scratch
COPY --from=build /image/ /
ENTRYPOINT ["/jobtoken"]
