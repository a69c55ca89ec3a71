# More on each line: docs/notes/Dockerfile.md. Pin uv: a newer uv may install differently.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
# Name the base by tag (it moves with patches; @sha256:... pins it); trixie: Debian's current.
FROM python:3.14-slim-trixie AS builder
# From nox -s build (none in a plain build); runtime ones too: the venv compiles against them.
ARG BUILD_PACKAGES="" RUNTIME_PACKAGES=""
# hadolint ignore=SC2086
RUN if [ -n "${BUILD_PACKAGES}${RUNTIME_PACKAGES}" ]; then apt-get update && apt-get install \
    --yes --no-install-recommends ${BUILD_PACKAGES} ${RUNTIME_PACKAGES}; fi
# Compile the venv's bytecode now: the app, read-only at run time, never compiles it.
ENV UV_COMPILE_BYTECODE=1
# Copy from the cache mount, another filesystem: hard links cannot reach it.
ENV UV_LINK_MODE=copy
# The base's Python only: the runtime has the same one at the same path.
ENV UV_PYTHON_DOWNLOADS=never
# Same bytes each build: no uv_cache.json in .dist-info; hash-checked .pyc (not the image's dates).
ENV UV_NO_INSTALLER_METADATA=1 SOURCE_DATE_EPOCH=0
# Build where the runtime will find the venv.
WORKDIR /app
# Dependencies first (uv mounted, never in a layer), reused until uv.lock or pyproject.toml change.
# Optional secrets: a proxy's CA, an index's netrc; absent, uv uses its own CAs and no login.
RUN --mount=from=uv,source=/uv,target=/bin/uv --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false --mount=type=secret,id=netrc,required=false \
    if [ -f /run/secrets/ca-bundle ]; then export SSL_CERT_FILE=/run/secrets/ca-bundle; fi; \
    NETRC=/run/secrets/netrc uv sync --locked --no-install-project --no-editable --no-dev
# Then the project (README.md: its metadata names it); the sources stay in this stage.
COPY pyproject.toml uv.lock README.md ./
COPY src src
# Non-editable; --offline: built by the uv_build in this uv, which must lie in pyproject.toml's
# [build-system] range (tests/tools/test_pins.py); uv makes .venv/.lock 0666 (the notes): o-w.
RUN --mount=from=uv,source=/uv,target=/bin/uv --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-editable --no-dev --offline \
    && find .venv -perm -0002 ! -type l -exec chmod o-w {} +
# nox -s build passes the profile's build step (none: `:`), venv first on PATH; output: /app/assets.
ARG BUILD_STEP=""
RUN mkdir assets && PATH="/app/.venv/bin:${PATH}" sh -c "${BUILD_STEP:-:}"

# The builder's image exactly: the venv's bin/python links to this base's interpreter.
FROM python:3.14-slim-trixie AS runtime
# A numeric uid: Kubernetes' runAsNonRoot can only verify a number; the runtime's packages.
ARG APP_UID=10001 RUNTIME_PACKAGES=""
# User (no shell/home); /data group 0, setgid (OpenShift); packages, apt lists unkept; no setuid.
# hadolint ignore=SC2086
RUN --mount=type=tmpfs,target=/var/lib/apt/lists --mount=type=tmpfs,target=/var/cache/debconf \
    groupadd --gid "${APP_UID}" app && useradd --no-log-init --uid "${APP_UID}" --gid app \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && install --directory --owner="${APP_UID}" --group=0 --mode=2770 /data \
    && if [ -n "${RUNTIME_PACKAGES}" ]; then apt-get update && apt-get install --yes \
       --no-install-recommends ${RUNTIME_PACKAGES}; fi \
    && find / -xdev -perm /6000 -type f -exec chmod a-s {} +
# The stdlib's bytecode (the base deletes it; not pip's, unused), hash-checked: none at run time.
RUN python -m compileall -q -j0 --invalidation-mode=checked-hash -x /site-packages/ \
    "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
# Copy only the venv and the build step's assets, root-owned: the app cannot rewrite its code.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/assets /app/assets
# The venv's programs first; each log line reaches `docker logs` at once; no bytecode written.
ENV PATH="/app/.venv/bin:${PATH}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# Listen on every address, IPv6 and IPv4 (IPv4 alone where the kernel has no IPv6); data in /data.
ENV SHORTLINK_HOST=:: SHORTLINK_DATA_DIR=/data
# Data outside the image's layers: a volume, anonymous when none is named.
VOLUME /data
# Document the port the service listens on.
EXPOSE 8000
# Never run as root.
USER ${APP_UID}:${APP_UID}
# A stdlib socket probe: ~17 ms of CPU, slowest seen 1.5 s at --cpus 0.05 (3 s timeout).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --start-interval=1s --retries=3 \
    CMD ["python", "-m", "shortlink.healthcheck"]
# Build metadata (labels, the /version endpoint) last: it changes every commit, nothing above.
ARG VERSION=unknown DESCRIPTION=unknown REVISION=unknown CREATED=unknown SOURCE_URL=unknown
LABEL org.opencontainers.image.title="shortlink" org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.description="${DESCRIPTION}" org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.revision="${REVISION}"
ENV SHORTLINK_VERSION=${VERSION} SHORTLINK_REVISION=${REVISION} SHORTLINK_BUILD_DATE=${CREATED}
# Exec form: the server is PID 1 and gets SIGTERM itself, on which it ends gracefully.
CMD ["shortlink"]
