# The federation service's image: `jobtoken serve` as a non-root user.
# Built from the repository root with the release builder (the same stage
# the action's Dockerfile uses, so the binary is the CLI download's, byte
# for byte):
#
#   docker build -f container/service.Dockerfile -t jobtoken-serve .
#   docker run -p 8080:8080 -v "$PWD/serve.yaml:/etc/jobtoken/config.yaml:ro" \
#     -v "$PWD/app.pem:/secrets/app.pem:ro" jobtoken-serve
#
# It listens on :$PORT (Cloud Run, Azure Container Apps set it), else :8080;
# answers /healthz and /readyz; drains on SIGTERM (requests in flight finish
# within 25 s). The action's image (../Dockerfile) keeps its runner-facing
# contract (root, /jobtoken-post); this one is for a server and runs as
# 65532:65532. GO_IMAGE works as in the action's Dockerfile (.ci/docker-build
# makes a local one where no registry can be reached).
ARG GO_IMAGE=golang:1.26.8-bookworm

FROM ${GO_IMAGE} AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY pkg ./pkg
# The builder's platforms say x64 where Go says amd64; CLI downloads keep Go's names.
RUN case "$(go env GOARCH)" in amd64) arch=x64 ;; *) arch="$(go env GOARCH)" ;; esac \
 && go run ./pkg/release/build -out /release -cli /release/cli -version "${VERSION}" -platforms "linux-${arch}" \
 && mkdir -p /image/etc/ssl/certs /image/etc/jobtoken \
 && cp "/release/cli/jobtoken-linux-$(go env GOARCH)" /image/jobtoken \
 && cp /etc/ssl/certs/ca-certificates.crt /image/etc/ssl/certs/ \
 && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' > /image/etc/passwd \
 && echo 'nonroot:x:65532:' > /image/etc/group

FROM scratch
COPY --from=build /image/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/jobtoken", "serve"]
CMD ["--config", "/etc/jobtoken/config.yaml"]
