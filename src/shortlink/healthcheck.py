"""Exit 0 when the local service answers ``/healthz`` with 200: the image's HEALTHCHECK.

It measures the service's health and nothing else, so it is cheap and has no opinions:
- the standard library's ``socket`` only, no settings library (importing pydantic-settings cost
  ~0.18 s of CPU per probe: ~2 s of wall time under a 100m CPU limit);
- never through a proxy: a plain TCP connection, so ``http_proxy``/``HTTP_PROXY`` in the
  container's environment (Docker's client proxy configuration puts them in every container)
  cannot send it elsewhere, whatever ``no_proxy`` says;
- where the service listens: ``SHORTLINK_HOST`` and ``SHORTLINK_PORT``, read from the
  environment directly; a wildcard (``0.0.0.0``, ``::``) is probed on IPv4's loopback (the
  service's ``::`` takes IPv4 too), any other address or name as it is. As for the service, an
  empty or blank value is an unset one (the default), and so is a service-link value
  (``tcp://10.96.12.34:8000``, injected by Kubernetes or ``docker run --link`` for a peer named
  like the service). Where ``SHORTLINK_PORT`` is thus unset, ``PORT`` (Cloud Run, Heroku, App
  Runner set it) is the port.

On failure it prints one line on stderr (Docker keeps it in ``docker inspect``'s health log).
"""

import os
import socket
import sys

# The settings' prefix and defaults (settings.py), without importing it.
PREFIX = f"{__package__.upper()}_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Where a platform says which port to serve on, read when SHORTLINK_PORT is unset.
PLATFORM_PORT = "PORT"
# Within the image's HEALTHCHECK --timeout (the Dockerfile), with room for a starved CPU.
TIMEOUT_SECONDS = 2.0
# The service's ``::`` socket takes IPv4 too (IPV6_V6ONLY off), and is IPv4's alone where the
# kernel has no IPv6; ::1 may not exist (IPv6 disabled on the container's loopback).
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "127.0.0.1"}  # noqa: S104 (read, not bound)
PATH = "/healthz"


class BadSetting(ValueError):
    """A setting the service itself would refuse at start."""


def target(env: dict[str, str] | None = None) -> tuple[str, int]:
    """The address and port to probe, from the service's settings in ``env`` (os.environ)."""
    env = os.environ if env is None else env
    host = env.get(f"{PREFIX}HOST", "").strip().removeprefix("[").removesuffix("]") or DEFAULT_HOST
    host = WILDCARDS.get(host, host)
    name = f"{PREFIX}PORT"
    value = env.get(name, "").strip()
    if not value or "://" in value:
        name = PLATFORM_PORT
        value = env.get(name, "").strip()
    if not value:
        return host, DEFAULT_PORT
    if not (value.isascii() and value.isdigit() and len(value) <= 5 and 1 <= int(value) <= 65535):
        raise BadSetting(f"{name}={value[:40]!r} is not a TCP port (1-65535)")
    return host, int(value)


def status(host: str, port: int, timeout: float = TIMEOUT_SECONDS) -> int:
    """The HTTP status ``GET /healthz`` answers on ``host``:``port``; OSError when none."""
    name = f"[{host}]" if ":" in host else host
    request = f"GET {PATH} HTTP/1.1\r\nHost: {name}:{port}\r\nConnection: close\r\n\r\n"
    # An ASCII name or address as bytes: a str would load the IDNA codec (~3 ms of CPU).
    with socket.create_connection((host.encode("ascii"), port), timeout=timeout) as connection:
        connection.sendall(request.encode("ascii"))
        head = b""
        while b"\r\n" not in head and len(head) < 1024:
            chunk = connection.recv(1024)
            if not chunk:
                break
            head += chunk
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OSError(f"not an HTTP answer: {head[:80]!r}")
    return int(parts[1])


def main() -> int:
    try:
        host, port = target()
    except BadSetting as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}{PATH}"
    try:
        answered = status(host, port)
    except (OSError, UnicodeError) as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return 1
    if answered != 200:
        print(f"healthcheck: {url} answered {answered}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
