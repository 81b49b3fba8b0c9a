# specserve in a container: built from this checkout, run as a user without
# privileges from a small image. README "Deploying" has the commands.
#
#   docker build -t specserve .
#   docker run -p 8443:8443 -v specserve-data:/var/lib/specserve specserve
#
# The build stage compiles the server alone (not the toolchain, benches or
# fixtures); the run stage holds the binary, CA certificates and nothing else.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# A clean build has no incremental state to reuse: optimize as a whole.
ENV CARGO_PROFILE_RELEASE_INCREMENTAL=false
RUN cargo build --release --locked -p specserve --bin specserve \
 && cp target/release/specserve /usr/local/bin/specserve

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/specserve --create-home specserve
COPY --from=build /usr/local/bin/specserve /usr/local/bin/specserve
USER specserve
# The SQLite default, the audit log, the server secret and the self-signed
# certificate all live here: mount a volume to keep them.
WORKDIR /var/lib/specserve
VOLUME /var/lib/specserve
EXPOSE 8443
ENTRYPOINT ["specserve"]
CMD ["serve", "--listen", "0.0.0.0:8443"]
