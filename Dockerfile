# syntax=docker/dockerfile:1
# The hub (`imessage-relay hub`) as an image. Every install step is in deploy/install-hub.sh, which CI
# runs for real; this file only calls it. Build: docker build -t imessage-relay-hub .
# Ports: 7443 the link (the Mac dials it, over the tunnel), 7480 the API, /health and /metrics.
# Volume: /var/lib/imessage-relay (hub.json, the hub's key, the API token, hub.db, logs).

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY relay ./relay
COPY applescript ./applescript
COPY launchd ./launchd
COPY deploy/install-hub.sh deploy/healthcheck.mjs deploy/sqlite-node24.sh ./deploy/
RUN ./deploy/install-hub.sh build --prefix /opt/imessage-relay

FROM node:20-slim
COPY --from=build /opt/imessage-relay /opt/imessage-relay
RUN /opt/imessage-relay/deploy/install-hub.sh system --prefix /opt/imessage-relay --state-dir /var/lib/imessage-relay --user imessage-relay --uid 10001
ENV NODE_ENV=production \
    IMESSAGE_RELAY_CONFIG=/var/lib/imessage-relay/hub.json \
    IMR_HEALTH_URL=http://127.0.0.1:7480/health
USER 10001:10001
WORKDIR /var/lib/imessage-relay
VOLUME ["/var/lib/imessage-relay"]
EXPOSE 7443 7480
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/imessage-relay/deploy/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/imessage-relay/bin/imessage-relay.js"]
CMD ["hub"]
