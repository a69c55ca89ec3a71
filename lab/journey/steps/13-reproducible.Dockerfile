# Journey step 13: reproducible builds. The same commit gives the same bytecode and image dates
# (SOURCE_DATE_EPOCH, the last commit's time) and uv leaves no install-time marker in the venv.
# The one change from step 12: `diff 12-stdlib-bytecode.Dockerfile 13-reproducible.Dockerfile` (in journey/steps/).

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
FROM python:3.14-slim-trixie AS builder

COPY --from=uv /uv /bin/uv
# Bytecode now, not by the app; copy from the cache mount; the base's Python; no ctime marker.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_INSTALLER_METADATA=1
# The last commit's time (`nox -s build` sets it): reproducible bytecode and image dates.
ARG SOURCE_DATE_EPOCH

WORKDIR /app
# Optional secrets: a proxy's CA, an index's netrc; absent, uv uses its own CAs and no login.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    --mount=type=secret,id=netrc,required=false \
    if [ -f /run/secrets/ca-bundle ]; then export SSL_CERT_FILE=/run/secrets/ca-bundle; fi; \
    NETRC=/run/secrets/netrc uv sync --locked --no-install-project --no-editable --no-dev
# Then the project itself; the sources stay in this stage.
COPY pyproject.toml uv.lock README.md ./
COPY src src

# Non-editable: the venv alone holds it; offline: uv builds it; no world-writable .venv/.lock.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-editable --no-dev --offline \
    && find .venv -perm -0002 ! -type l -exec chmod o-w {} +
# Stdlib bytecode (the base deletes it) for what the service and its probe import; never serves.
RUN .venv/bin/python -c 'import importlib, py_compile, sys, sysconfig; \
    [importlib.import_module(name) for name in ("shortlink.__main__", "shortlink.healthcheck")]; \
    specs = [getattr(m, "__spec__", None) for m in list(sys.modules.values())]; \
    [py_compile.compile(s.origin, "/bytecode" + s.cached, doraise=True) for s in specs \
     if s and s.cached and s.origin.startswith(sysconfig.get_path("stdlib") + "/")]'

FROM python:3.14-slim-trixie AS runtime

# A numeric uid: Kubernetes' runAsNonRoot can only verify a number.
ARG APP_UID=10001
# Make the app's user (no shell, no home) and /data, group 0 for OpenShift's arbitrary uids;
# strip setuid/setgid bits, so nothing in the image can gain privileges.
RUN groupadd --gid "${APP_UID}" app \
    && useradd --no-log-init --uid "${APP_UID}" --gid app \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app \
    && install --directory --owner="${APP_UID}" --group=0 --mode=0770 /data \
    && find / -xdev -perm /6000 -type f -exec chmod a-s {} +
# Copy only the venv, root-owned: the app cannot rewrite its own code.
COPY --from=builder /app/.venv /app/.venv
# That bytecode, beside the stdlib's sources: start, stop and probe compile (almost) nothing.
COPY --from=builder /bytecode/ /
# The venv's programs first; logs at once; no bytecode written; listen beyond loopback; data.
ENV PATH="/app/.venv/bin:${PATH}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SHORTLINK_HOST=0.0.0.0 SHORTLINK_DATA_DIR=/data
# Keep the database when no volume is named.
VOLUME /data

EXPOSE 8000
# Never run as root.
USER ${APP_UID}:${APP_UID}
# A stdlib socket probe: ~17 ms of CPU, at most 1.5 s at --cpus 0.05 (3 s timeout); every 30 s.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --start-interval=1s --retries=3 \
    CMD ["python", "-m", "shortlink.healthcheck"]
# Exec form: Python is PID 1 and gets SIGTERM itself, so `docker stop` is graceful.
CMD ["shortlink"]
