# The image tests' toolbox, never shipped: it joins a service container's PID and network
# namespaces and reads its files at /proc/1/root, so testinfra can check every image, the one
# without a shell too. Ref: tests/contract/toolbox.py; docs, "Running it in production".
FROM debian:trixie-slim
# ps (procps) and ss (iproute2): what testinfra's process and socket modules run. Unpinned: a
# test tool. apt's lists and caches stay in cache mounts, outside the layer.
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
    && apt-get update \
    && apt-get install -y --no-install-recommends procps iproute2
