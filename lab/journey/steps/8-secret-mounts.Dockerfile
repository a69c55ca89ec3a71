# Journey step 8: build secrets by secret mount only. No ARG or ENV holds one, no file gets one:
# the RUN that needs a secret mounts it, and no layer, history or config keeps it.
# The one change from step 7: `diff 7-allow-list-context.Dockerfile 8-secret-mounts.Dockerfile` (in journey/steps/).

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

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# Copy only the venv: not the sources, nor anything else the context held.
COPY --from=builder /app/.venv /app/.venv

EXPOSE 8000
CMD SHORTLINK_HOST=0.0.0.0 /app/.venv/bin/python -m shortlink
