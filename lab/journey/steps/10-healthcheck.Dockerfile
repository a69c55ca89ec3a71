# Journey step 10: a HEALTHCHECK, probed by the app's own stdlib code: the engine (and compose's
# depends_on) learns when the service is ready or stuck, and no curl is installed for it.
# The one change from step 9: `diff 9-exec-form-cmd.Dockerfile 10-healthcheck.Dockerfile` (in journey/steps/).

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
FROM python:3.14-slim-trixie AS builder

COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never

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

# Non-editable: the venv alone holds it; offline: uv builds it.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-editable --no-dev --offline

FROM python:3.14-slim-trixie AS runtime

# Copy only the venv: not the sources, nor anything else the context held.
COPY --from=builder /app/.venv /app/.venv
# The venv's programs first; logs at once; listen beyond loopback.
ENV PATH="/app/.venv/bin:${PATH}" PYTHONUNBUFFERED=1 \
    SHORTLINK_HOST=0.0.0.0

EXPOSE 8000
# A stdlib socket probe: ~17 ms of CPU, at most 1.5 s at --cpus 0.05 (3 s timeout); every 30 s.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --start-interval=1s --retries=3 \
    CMD ["python", "-m", "shortlink.healthcheck"]
# Exec form: Python is PID 1 and gets SIGTERM itself, so `docker stop` is graceful.
CMD ["shortlink"]
