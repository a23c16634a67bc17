# The jobtoken action image: a static binary and CA certificates on scratch.
#
# Base images are build arguments so the image also builds where no registry
# can be reached: import a local toolchain image under the same tag, or pass
# --build-arg GO_IMAGE=<local tag>.
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
# One binary, two names: the runner starts each stage with its own
# --entrypoint and the same args, so the post stage is told apart by argv[0].
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/jobtoken/jobtoken/pkg/cli.Version=${VERSION}" \
      -o /out/jobtoken ./cmd/jobtoken \
 && ln -s jobtoken /out/jobtoken-post \
 && mkdir -p /out/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/

# No USER line: the runner's file-command files belong to the runner user and
# GitHub runs container actions as the image's default user (root).
FROM scratch
COPY --from=build /out/ /
ENTRYPOINT ["/jobtoken"]
