# The dev loop, built by compose.yaml's `dev` and `test` services: the project editable, the
# unit tests' dependencies, the profile's dev server reloading on each edit `compose up --watch
# dev` syncs in.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# The production image's base, so the dev loop runs the same Python.
FROM python:3.14-slim-trixie AS dev
# The production image's numeric uid; the profile's Debian packages (pyproject.toml), both kinds.
ARG APP_UID=10001 BUILD_PACKAGES="" RUNTIME_PACKAGES=""
# The venv compiles against them and the dev server loads them; one package per word.
# hadolint ignore=SC2086
RUN if [ -n "${BUILD_PACKAGES}${RUNTIME_PACKAGES}" ]; then apt-get update && apt-get install \
    --yes --no-install-recommends ${BUILD_PACKAGES} ${RUNTIME_PACKAGES} \
    && rm -rf /var/lib/apt/lists/*; fi
# Skip bytecode, so the image builds faster; copy out of the cache mount; the base's Python.
ENV UV_COMPILE_BYTECODE=0 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Make the app's user, named as watch's copy needs, and a data folder it can write.
RUN groupadd --gid "${APP_UID}" app \
    && useradd --no-log-init --uid "${APP_UID}" --gid app \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && install --directory --owner="${APP_UID}" --group="${APP_UID}" /data
# Dependencies and the test group first: reused until uv.lock or pyproject.toml changes.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    if [ -f /run/secrets/ca-bundle ]; then export SSL_CERT_FILE=/run/secrets/ca-bundle; fi; \
    NETRC=/run/secrets/netrc uv sync --locked --no-install-project --no-dev --group test
# Owned by the app's uid, so watch can sync edits in.
COPY --chown=${APP_UID}:${APP_UID} pyproject.toml uv.lock README.md ./
COPY --chown=${APP_UID}:${APP_UID} src src
# The project editable: the venv imports /app/src, so a synced edit is the running code.
RUN --mount=from=uv,source=/uv,target=/bin/uv \
    --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --group test --offline
# As in production: the venv first, logs at once, data in /data.
ENV PATH="/app/.venv/bin:${PATH}" PYTHONUNBUFFERED=1 SHORTLINK_DATA_DIR=/data
EXPOSE 8000
# The numeric uid alone: watch's copy cannot look up a `:gid`. No CMD: compose's override gives
# the `dev` service the profile's dev-command (tools/compose.py), the `test` service its own.
USER ${APP_UID}
