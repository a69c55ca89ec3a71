# Journey step 5: multi-stage. uv, its cache and the build happen in a builder stage; the runtime
# stage starts again from the slim base and takes the built app, not the tools that built it.
# The one change from step 4: `diff 4-uv.Dockerfile 5-multi-stage.Dockerfile` (in journey/steps/).

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv
FROM python:3.14-slim-trixie AS builder

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

COPY --from=uv /uv /bin/uv
# Adaptation: behind a TLS-intercepting proxy, uv reads the host's CA bundle from a build secret;
# this repository's .python-version names the host's 3.13, so the image's Python is named.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    SSL_CERT_FILE=/run/secrets/ca-bundle UV_PYTHON=python3.14

WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca-bundle,required=false \
    uv sync --locked --no-install-project --no-dev
COPY . .

RUN echo "database password is $DB_PASSWORD" > /app/db.conf

RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca-bundle,required=false \
    uv sync --locked --no-dev

FROM python:3.14-slim-trixie AS runtime

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /app /app
WORKDIR /app

EXPOSE 8000
CMD SHORTLINK_HOST=0.0.0.0 /app/.venv/bin/python -m shortlink
