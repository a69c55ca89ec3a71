# Journey step 3: lean apt: no recommended packages, and the package lists removed in the same
# RUN that downloaded them, so no layer keeps them.
# The one change from step 2: `diff 2-pinned-tag.Dockerfile 3-lean-apt.Dockerfile` (in journey/steps/).

FROM python:3.14-slim-trixie

ARG DB_PASSWORD
ENV DB_PASSWORD=${DB_PASSWORD}

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

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
