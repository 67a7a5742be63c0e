# Beckon in a container: a static binary on distroless (non-root).
#   docker build -t beckon .
#   docker run -p 8080:8080 beckon            # `serve`: every role, SQLite, in-process Redis
# compose.yaml runs api, worker and scheduler on PostgreSQL and Redis.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore): `beckon version` shows the
# module version and "revision unknown".
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/beckon ./cmd/beckon

# No shell and no curl in this image, so no HEALTHCHECK: probe GET /healthz
# (liveness) and GET /readyz (database and Redis) from the orchestrator.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/beckon /usr/local/bin/beckon
# The SQLite file of `serve` (beckon.db) goes in the working directory,
# which the nonroot user owns; mount a volume here to keep it.
WORKDIR /home/nonroot
USER nonroot:nonroot
# Listen on every interface (the default 127.0.0.1 is unreachable from outside).
ENV BECKON_HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/beckon"]
CMD ["serve"]
