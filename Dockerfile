# advisord: build in a Rust image, run as a non-root user in a slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
# Everything Cargo.toml names: build.rs embeds feeds/, and the manifest
# declares the bench and test targets, whose files must exist for cargo to
# read it (.ci/docker-context.sh builds from exactly these lines in CI).
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY schemas ./schemas
COPY feeds ./feeds
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin advisord

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home advisord
COPY --from=build /src/target/release/advisord /usr/local/bin/advisord
COPY --from=build /src/feeds /etc/advisord/feeds
USER advisord
WORKDIR /data
VOLUME ["/data"]
ENV ADVISORD_DB=/data/advisord.redb \
    ADVISORD_LISTEN=0.0.0.0:8080 \
    ADVISORD_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["advisord"]
CMD ["serve"]
