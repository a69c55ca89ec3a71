# Journey step 7: an allow-list build context. This step has no .dockerignore of its own, so the
# project's .dockerignore applies: only what the images use is sent; never .git, .env or data.
# The one change from step 6: the ignore file (`diff 6-only-the-venv.Dockerfile.dockerignore ../../../.dockerignore`).

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
FROM python:3.14-slim-trixie AS builder

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

COPY --from=uv /uv /bin/uv
# Adaptation: behind a TLS-intercepting proxy, uv reads the host's CA bundle from a build secret.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    SSL_CERT_FILE=/run/secrets/ca-bundle

WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    uv sync --locked --no-install-project --no-editable --no-dev
# Then the project itself; the sources stay in this stage.
COPY pyproject.toml uv.lock README.md ./
COPY src src

RUN echo "database password is $DB_PASSWORD" > /app/db.conf

# Non-editable: the venv alone holds it; offline: uv builds it.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-editable --no-dev --offline

FROM python:3.14-slim-trixie AS runtime

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# Copy only the venv: not the sources, nor anything else the context held.
COPY --from=builder /app/.venv /app/.venv

EXPOSE 8000
CMD SHORTLINK_HOST=0.0.0.0 /app/.venv/bin/python -m shortlink
