# The shortlink service, built the way this project recommends: pinned bases, uv, two stages,
# only the virtual environment in the final image, no secrets in any layer, a numeric non-root
# user. `nox -s build` builds it; `nox -s test` proves each of those claims on the image.

# A fixed, numeric uid/gid: Kubernetes' runAsNonRoot can only verify a number.
ARG APP_UID=10001
# Image metadata, set by `nox -s build` from the project and git.
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE_URL=unknown

# Bases named literally, at explicit tags, never `latest`, so Dependabot and hadolint can read
# them; add @sha256:... to pin a digest. uv pinned: a newer uv may resolve differently.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# trixie, not bookworm: Debian 12 left regular security support in June 2026.
FROM python:3.13-slim-trixie AS builder
# Bytecode compiled now, so the app never writes it at run time; copies, not hardlinks, out of
# the cache mount; the base image's Python only (the runtime has the same one at the same path);
# no install marker holding a file's ctime, so two builds give the same bytes.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_INSTALLER_METADATA=1 \
    SSL_CERT_FILE=/run/secrets/ca-bundle \
    NETRC=/run/secrets/netrc
# SSL_CERT_FILE and NETRC above point at build secrets mounted only while uv runs: a proxy's CA
# bundle and a private index's credentials. uv ignores them when absent.
# Set by `nox -s build` to the last commit's time: Python then writes hash-based bytecode, the
# same in every build of one commit (and BuildKit dates the image with it).
ARG SOURCE_DATE_EPOCH
WORKDIR /app
# Dependencies alone first: this layer is reused until uv.lock changes. Lock and project file
# are bind-mounted, not copied; downloads stay in a cache mount, outside every layer.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    uv sync --locked --no-install-project --no-editable --no-dev
# Then the project, non-editable: the venv holds it, and the sources, bind-mounted, never
# become a layer. uv rebuilds it when a file in pyproject.toml's `cache-keys` changed. uv
# leaves its lock file (.venv/.lock) world-writable; nothing in the image is.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=README.md,target=README.md \
    --mount=type=bind,source=src,target=src \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    uv sync --locked --no-editable --no-dev \
    && find /app/.venv -perm -0002 ! -type l -exec chmod o-w {} +

# The dev loop (compose.yaml's `dev` service, `docker compose watch`). Never the default target:
# the runtime stage below stays last.
FROM builder AS dev
ARG APP_UID
# Dev tools start faster without compiling every dependency's bytecode first.
ENV UV_COMPILE_BYTECODE=0
# All dependencies, dev group included; reused until uv.lock changes.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    uv sync --locked --no-install-project
# Owned by the app's uid: `docker compose watch` syncs edits in as that user.
COPY --chown=${APP_UID}:${APP_UID} pyproject.toml uv.lock README.md ./
COPY --chown=${APP_UID}:${APP_UID} src src
# The project editable (the venv imports /app/src, so a synced edit is the running code); the
# app's user, named as watch's copy needs; a data folder it can write.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    uv sync --locked \
    && groupadd --gid "${APP_UID}" app \
    && useradd --no-log-init --uid "${APP_UID}" --gid app \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && install --directory --owner="${APP_UID}" --group="${APP_UID}" /data
# As in the runtime: logs reach `docker logs` at once, data goes to /data.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    SHORTLINK_DATA_DIR=/data
EXPOSE 8000
# The same numeric uid as production, never root; no `:gid`, which watch's copy cannot look up.
USER ${APP_UID}
# uvicorn restarts the app when a file under src/ changes; its CLI reads no SHORTLINK_HOST.
CMD ["uvicorn", "shortlink.app:create_app", "--factory", "--reload", "--reload-dir", "src", \
     "--host", "0.0.0.0", "--port", "8000"]

FROM python:3.13-slim-trixie AS runtime
ARG APP_UID
# The app's user: no login shell, no home. /data is its only writable place, group 0 and
# group-writable so an arbitrary uid in group 0 (OpenShift's convention) can write it too.
# No setuid/setgid programs (su, passwd, mount...): nothing in the image can gain privileges.
RUN groupadd --gid "${APP_UID}" app \
    && useradd --no-log-init --uid "${APP_UID}" --gid app \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown "${APP_UID}:0" /data \
    && chmod 0770 /data \
    && find / -xdev -perm /6000 -type f -exec chmod a-s {} +
# Only the virtual environment: no uv, no sources, no caches. Root-owned: the app cannot
# rewrite its own code.
COPY --from=builder /app/.venv /app/.venv
# Logs reach `docker logs` at once; bytecode is already compiled; listen beyond loopback.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SHORTLINK_HOST=0.0.0.0 \
    SHORTLINK_DATA_DIR=/data
# Declared so the database outlives the container when no volume is named.
VOLUME /data
EXPOSE 8000
USER ${APP_UID}:${APP_UID}
# Python's own urllib, so the image needs no curl; frequent checks only while starting.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --start-interval=1s --retries=3 \
    CMD ["python", "-m", "shortlink.healthcheck"]
ARG VERSION
ARG REVISION
ARG CREATED
ARG SOURCE_URL
# Last: these change on every commit and must not invalidate the layers above.
LABEL org.opencontainers.image.title="shortlink" \
      org.opencontainers.image.description="A small URL-shortener API" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENV SHORTLINK_VERSION="${VERSION}" \
    SHORTLINK_REVISION="${REVISION}" \
    SHORTLINK_BUILD_DATE="${CREATED}"
# Exec form: Python is PID 1 and receives SIGTERM itself, so `docker stop` is graceful.
CMD ["shortlink"]
