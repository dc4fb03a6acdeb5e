# syntax=docker/dockerfile:1
# miosa-mcp container image: a static Go binary on distroless (no shell, no
# package manager, CA certificates included), running as a non-root user.
#
#   docker build -t miosa-mcp .            (or: make docker)
#   docker run --rm -p 8787:8787 miosa-mcp                                  # HTTP on :8787
#   docker run --rm -i -e MIOSA_API_KEY miosa-mcp stdio                     # stdio, for editors
#
# The default command serves stateless streamable HTTP on 0.0.0.0:8787
# (/mcp and /api/v1/mcp); callers send `Authorization: Bearer msk_u_…` with
# every request, so no key is baked in or configured. Liveness: GET
# /healthz, readiness: GET /readyz (distroless has no shell for a
# HEALTHCHECK; point your orchestrator's HTTP probes at these instead).

FROM --platform=$BUILDPLATFORM golang:1.27 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/miosa-osa/miosa-mcp/internal/app.version=${VERSION}" \
      -o /out/miosa-mcp ./cmd/miosa-mcp

FROM gcr.io/distroless/static-debian12:nonroot
# The MCP Registry checks this label against `name` in server.json.
LABEL io.modelcontextprotocol.server.name="io.github.miosa-osa/miosa-mcp" \
      org.opencontainers.image.title="miosa-mcp" \
      org.opencontainers.image.description="MCP server for the MIOSA cloud: sandboxes, desktop computers, deployments, storage, databases" \
      org.opencontainers.image.source="https://github.com/miosa-osa/miosa-mcp"
COPY --from=build /out/miosa-mcp /miosa-mcp
# distroless' nonroot user (uid 65532); never root.
USER nonroot:nonroot
EXPOSE 8787
ENTRYPOINT ["/miosa-mcp"]
CMD ["http", "--listen", "0.0.0.0:8787"]
