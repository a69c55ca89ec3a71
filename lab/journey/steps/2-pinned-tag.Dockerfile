# Journey step 2: an explicit, pinned tag instead of a rolling one: the same base on every build
# until you change it on purpose (Dependabot proposes the bumps). Add @sha256:... to pin a digest.
# The one change from step 1b: `diff 1b-slim-variant.Dockerfile 2-pinned-tag.Dockerfile` (in journey/steps/).

FROM python:3.14-slim-trixie

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

RUN apt-get update
RUN apt-get install -y curl

# Adaptation: behind a TLS-intercepting proxy, the host's CA bundle is mounted over the
# system one for this RUN only, and pip is told to use the system bundle.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca-bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    pip3 install --break-system-packages --ignore-installed poetry

WORKDIR /app
COPY . .

RUN echo "database password is $DB_PASSWORD" > /app/db.conf

# Adaptation: the proxy serves PyPI's simple index but not the JSON API that poetry asks by
# default, so the simple index is declared as poetry's primary source; poetry's requests then
# need the system CA bundle.
ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca-bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    poetry source add --priority=primary pypi-simple https://pypi.org/simple/ \
    && poetry install

EXPOSE 8000
CMD SHORTLINK_HOST=0.0.0.0 poetry run python -m shortlink
