"""Clients that wait, and the proxy in front: what a load balancer, a reverse proxy and a slow
or hostile client do to a server over a minute or more. Each check waits that long, so they run
in a session of their own (`nox -s clients`, which CI runs), not in `nox -s test`; every
image's observations run at once (conftest.py).

- A load balancer keeps its upstream connections open up to 60 s idle (AWS ALB, nginx's
  upstream keepalive_timeout) and sends the next request on one; a server that closed it first
  makes that request fail (a POST is not retried: 502; kserve/kserve#5446).
- A body sent a byte at a time holds a connection and its descriptor for as long as the client
  likes; enough of them and the server stops answering (xorbitsai/inference#5213).
- Behind nginx with an upstream keepalive pool, as ingress-nginx runs: POSTs after idle gaps go
  over the pooled connection, answered, with nothing in nginx's error log.
"""

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import service
from tests.contract.profile import Expected, verdict
from tools.containers import Running, remove_container, start
from tools.profile import profile

# Longer than the idle timeout of the load balancers in front (AWS ALB, nginx: 60 s).
IDLE_SECONDS = 65
# A body at 0.5 byte/s: Apache's mod_reqtimeout drops it after 20 s by default (body=20,
# MinRate=500); a server that has not dropped it after this long never will.
BODY_BOUND_SECONDS = 30
TRICKLED_BODIES = 8
# Idle gaps between POSTs through nginx: past uvicorn's default keep-alive (5 s), within
# nginx's upstream keepalive_timeout (60 s).
NGINX_GAPS_SECONDS = (8, 20)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def read_response(client: socket.socket) -> tuple[int, dict[str, str]]:
    """One HTTP/1.1 response's status and headers (lower-case names); its body read and
    dropped. ConnectionError when the server closed the connection instead."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} bytes of a response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response body")
        body += chunk
    return int(status_line.split()[1]), headers


def ask_health(client: socket.socket) -> tuple[int, dict[str, str]]:
    client.sendall(f"GET {profile().health_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return read_response(client)


def closed_within(client: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``client`` (EOF or reset), or None if it stayed open."""
    started = time.monotonic()
    while (left := seconds - (time.monotonic() - started)) > 0:
        if select.select([client], [], [], left)[0]:
            try:
                if not client.recv(65536):
                    return time.monotonic() - started
            except OSError:
                return time.monotonic() - started
    return None


def keeps_an_idle_connection(tag: str, *run_args: str) -> tuple[bool, str]:
    """A request, IDLE_SECONDS idle, another on the same connection: whether it was answered
    (or the first answer said Connection: close, so no client reuses it)."""
    container = start(tag, *run_args)
    try:
        with socket.create_connection(("127.0.0.1", container.port), timeout=10) as client:
            status, headers = ask_health(client)
            if headers.get("connection", "").lower() == "close":
                return True, f"answered {status} with Connection: close: no pooled reuse"
            if (closed := closed_within(client, IDLE_SECONDS)) is not None:
                return False, f"closed the idle connection after {closed:.0f} s"
            status, _ = ask_health(client)
            return status == 200, f"answered {status} after {IDLE_SECONDS} s idle"
    except OSError as error:
        return False, f"{type(error).__name__}: {error}"
    finally:
        remove_container(container)


def trickle(port: int, stop: float) -> float | None:
    """A POST head announcing a JSON body of 1 KiB where the service reads one, then a byte of
    it (JSON's whitespace) every 2 s until ``stop`` (a monotonic time): the seconds until the
    server closed the connection, None if it never did."""
    started = time.monotonic()
    head = f"POST {service.JSON_BODY_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1024\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(f"{head}Content-Type: application/json\r\n\r\n".encode())
        while time.monotonic() < stop:
            if closed_within(client, min(2.0, stop - time.monotonic())) is not None:
                return time.monotonic() - started
            try:
                client.sendall(b" ")
            except OSError:
                return time.monotonic() - started
    return None


def drops_trickled_bodies(tag: str, *run_args: str) -> tuple[bool, str]:
    """TRICKLED_BODIES bodies at 0.5 byte/s at once: whether the server closed each within
    BODY_BOUND_SECONDS (its descriptors back), and answers a write afterwards."""
    container = start(tag, *run_args)
    try:
        stop = time.monotonic() + BODY_BOUND_SECONDS
        with ThreadPoolExecutor(TRICKLED_BODIES) as clients:
            ends = list(
                clients.map(trickle, [container.port] * TRICKLED_BODIES, [stop] * TRICKLED_BODIES)
            )
        problem = service.round_trip(container)
    except OSError as error:
        ends, problem = [], f"{type(error).__name__}: {error}"
    finally:
        remove_container(container)
    still = sum(end is None for end in ends)
    latest = max((end for end in ends if end is not None), default=0.0)
    bodies = f"{TRICKLED_BODIES} bodies at 0.5 byte/s"
    seen = (
        f"{still} of {bodies} still open after {BODY_BOUND_SECONDS} s"
        if still
        else f"each of {bodies} closed within {latest:.0f} s"
    )
    holds = bool(ends) and not still and not problem
    return holds, f"{seen}; then {problem or 'a round trip worked'}"


NGINX_CONF = """daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    upstream service {{ server 127.0.0.1:{upstream}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upstream_connections(port: int) -> set[int]:
    """The local ports of the host's established TCP connections to 127.0.0.1:``port`` (the
    kernel's table, /proc/net/tcp): nginx's upstream connections."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "01" and remote == f"0100007F:{port:04X}":
            found.add(int(local.split(":")[1], 16))
    return found


def serves_behind_nginx(tag: str, *run_args: str) -> tuple[bool, str]:
    """Writes through nginx, with an upstream keepalive pool, after each of NGINX_GAPS_SECONDS
    idle: whether each was acknowledged over the one pooled connection, and nginx's error log
    holds no upstream error."""
    if not os.access(NGINX, os.X_OK):
        return False, f"no nginx at {NGINX}: install Debian's nginx-light (CI's .ci/run does)"
    container = start(tag, *run_args)
    workdir = tempfile.mkdtemp(prefix="nginx-")
    port = free_port()
    conf = Path(workdir, "nginx.conf")
    conf.write_text(NGINX_CONF.format(dir=workdir, upstream=container.port, port=port))
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", workdir], stderr=subprocess.PIPE)
    try:
        front = Running(container.id, port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not upstream_reachable(port):
            time.sleep(0.1)
        acknowledged, pooled = [], []
        for n, gap in enumerate((0, *NGINX_GAPS_SECONDS)):
            time.sleep(gap)
            acknowledged.append(service.write(front, n) is not None)
            pooled.append(frozenset(upstream_connections(container.port)))
        errors = [
            line
            for line in Path(workdir, "error.log").read_text().splitlines()
            if "upstream" in line and ("[error]" in line or "[warn]" in line)
        ]
    except OSError as error:
        acknowledged, pooled, errors = [], [], [f"{type(error).__name__}: {error}"]
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        remove_container(container)
        shutil.rmtree(workdir, ignore_errors=True)
    reused = len(set(pooled)) == 1 and len(pooled[0]) == 1 if pooled else False
    holds = bool(acknowledged) and all(acknowledged) and reused and not errors
    return holds, (
        f"writes after gaps of {NGINX_GAPS_SECONDS} s acknowledged: {acknowledged}; upstream "
        f"connections after each: {[sorted(ports) for ports in pooled]} (one pooled connection: "
        f"{reused}); nginx's upstream errors: {errors[:3]}"
    )


def upstream_reachable(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def test_keeps_an_idle_connection_longer_than_a_load_balancer(
    observation: tuple[bool, str], expected: Expected
) -> None:
    verdict(expected, *observation)


@pytest.mark.feature("JSON_BODY_PATH")
def test_drops_a_body_sent_a_byte_at_a_time_and_serves_on(
    observation: tuple[bool, str], expected: Expected
) -> None:
    verdict(expected, *observation)


def test_serves_writes_behind_nginx_over_its_upstream_keepalive_pool(
    observation: tuple[bool, str], expected: Expected
) -> None:
    verdict(expected, *observation)


# Each check's observation, by the check's name (conftest.py starts them all at once).
OBSERVERS: dict[str, Callable[[str], tuple[bool, str]]] = {
    test_keeps_an_idle_connection_longer_than_a_load_balancer.__name__: keeps_an_idle_connection,
    test_drops_a_body_sent_a_byte_at_a_time_and_serves_on.__name__: drops_trickled_bodies,
    test_serves_writes_behind_nginx_over_its_upstream_keepalive_pool.__name__: serves_behind_nginx,
}
