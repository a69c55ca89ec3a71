"""Load the service on this machine beside its stack's ceiling: ``python -m lab.bench``
(``nox -s bench``).

The ceiling is lab/ceiling.py: the service's routes on the same FastAPI and uvicorn, started
the same way, answering constants with no I/O. Both run in this interpreter, one after the
other, on loopback (the service with a temporary data folder); a raw asyncio HTTP/1.1
keep-alive client (one connection per simulated client) measures requests per second and
latency percentiles per route and client count, and the service's share of the ceiling. With
``--record`` the table goes into lab/results/bench.md (lab/report.py).
"""

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lab import report
from tools import containers
from tools.project import ENV_PREFIX, PACKAGE, ROOT

CLIENTS = (1, 16, 64)
SECONDS_PER_POINT = 10.0
WARMUP_SECONDS = 1.0
LINKS_TO_FOLLOW = 200
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
# A request that takes this long counts as failed: no point can hang the run.
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Point:
    route: str
    clients: int
    requests: int
    failures: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for this service's answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def post_request(url: str) -> bytes:
    body = f'{{"url": "{url}"}}'.encode()
    head = (
        "POST /links HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def load(
    port: int, clients: int, seconds: float, next_request: Callable[[int, int], bytes], ok: int
) -> tuple[int, int, list[float]]:
    """``clients`` connections send requests back to back for ``seconds``; counted after warm-up."""
    started = time.perf_counter()
    measure_from = started + WARMUP_SECONDS
    stop_at = measure_from + seconds
    latencies: list[float] = []
    failures = 0

    async def client(number: int) -> None:
        nonlocal failures
        connection = await Connection.open(port)
        sent = 0
        try:
            while (now := time.perf_counter()) < stop_at:
                status, _ = await asyncio.wait_for(
                    connection.request(next_request(number, sent)), REQUEST_TIMEOUT_SECONDS
                )
                sent += 1
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    failures += status != ok
        finally:
            connection.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies), failures, latencies


def percentile_ms(latencies: list[float], fraction: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure_service(port: int, label: str, seconds: float) -> list[Point]:
    codes = []
    connection = await Connection.open(port)
    try:
        for n in range(LINKS_TO_FOLLOW):
            status, body = await connection.request(post_request(f"https://bench.example/{n}"))
            if status not in (200, 201):
                raise SystemExit(f"{label}: creating a link answered {status}: {body[:200]!r}")
            codes.append(body.split(b'"code":"')[1].split(b'"')[0].decode())
    finally:
        connection.close()
    routes: dict[str, tuple[Callable[[int, int], bytes], int]] = {
        "GET /{code}": (lambda c, n: get_request(f"/{codes[(c + n) % len(codes)]}"), 307),
        "POST /links": (
            lambda c, n: post_request(f"https://bench.example/{label}/{c}/{n}/{time.time_ns()}"),
            201,
        ),
    }
    points = []
    for route, (next_request, ok) in routes.items():
        for clients in CLIENTS:
            count, failures, latencies = await load(port, clients, seconds, next_request, ok)
            point = Point(
                route,
                clients,
                count,
                failures,
                seconds,
                percentile_ms(latencies, 0.50),
                percentile_ms(latencies, 0.99),
            )
            print(
                f"  {label}: {route} x{clients}: {point.per_second:,.0f} req/s, "
                f"p50 {point.p50_ms:.1f} ms, p99 {point.p99_ms:.1f} ms, "
                f"{failures} failed",
                flush=True,
            )
            points.append(point)
    return points


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_processes(pid: int) -> int:
    """The server's process and its children: how many processes serve requests."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    listed = children.read_text().split() if children.exists() else []
    return 1 + len(listed)


@contextlib.contextmanager
def running(label: str, command: list[str], env: dict[str, str], port: int) -> Iterator[int]:
    """Start ``command`` in ROOT, this interpreter's environment plus ``env``, until its health
    path answers on ``port``; yield its pid; stop it (SIGTERM, then kill). SystemExit, with
    its stderr, when it exits or does not answer within START_TIMEOUT_SECONDS."""
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        try:
            containers.wait_until_serving(
                port, lambda: server.poll() is None, limit=START_TIMEOUT_SECONDS, interval=0.2
            )
        except containers.NotServing as failure:
            if failure.exited:
                raise SystemExit(f"{label} exited: {server.stderr.read()!r}") from None
            raise SystemExit(f"{label} did not start: {failure}") from None
        yield server.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def service_command(port: int, data_dir: Path) -> tuple[list[str], dict[str, str]]:
    """``python -m PACKAGE`` on loopback, its data in ``data_dir``, no admin token."""
    return [sys.executable, "-m", PACKAGE], {
        f"{ENV_PREFIX}HOST": "127.0.0.1",
        f"{ENV_PREFIX}PORT": str(port),
        f"{ENV_PREFIX}DATA_DIR": str(data_dir),
        f"{ENV_PREFIX}ADMIN_TOKEN_FILE": "",
    }


def ceiling_command(port: int, _: Path) -> tuple[list[str], dict[str, str]]:
    return [sys.executable, "-m", "lab.ceiling", "--port", str(port)], {}


def measure(
    label: str, command: Callable[[int, Path], tuple[list[str], dict[str, str]]], seconds: float
) -> tuple[list[Point], int]:
    """Points for every route and client count, and how many processes served them."""
    with tempfile.TemporaryDirectory(prefix="bench-data-") as data_dir:
        port = free_port()
        argv, env = command(port, Path(data_dir))
        with running(label, argv, env, port) as pid:
            processes = server_processes(pid)
            print(f"{label}: {' '.join(argv[1:])}, {processes} server process(es)", flush=True)
            return asyncio.run(measure_service(port, label, seconds)), processes


def table(ceiling: list[Point], service: list[Point]) -> str:
    lines = [
        "| route | clients | ceiling: req/s | p50 | p99 | service: req/s | p50 | p99 "
        "| of the ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for top, ours in zip(ceiling, service, strict=True):
        lines.append(
            f"| `{ours.route}` | {ours.clients} "
            f"| {top.per_second:,.0f} | {top.p50_ms:.1f} ms | {top.p99_ms:.1f} ms "
            f"| {ours.per_second:,.0f} | {ours.p50_ms:.1f} ms | {ours.p99_ms:.1f} ms "
            f"| {100 * ours.per_second / top.per_second:.0f}% |"
        )
    failed = sum(p.failures for p in ceiling + service)
    if failed:
        lines.append(f"\n{failed} requests answered an unexpected status.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_POINT)
    parser.add_argument("--record", action="store_true", help="write lab/results/bench.md")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    ceiling, ceiling_processes = measure("ceiling", ceiling_command, args.seconds)
    # This interpreter's environment holds the working tree's project and its locked deps.
    service, service_processes = measure("service", service_command, args.seconds)
    load_after = os.getloadavg()
    setup = (
        f"{report.machine()}, Python {sys.version.split()[0]}; client and server on the same "
        f"machine; {args.seconds:g} s per point after {WARMUP_SECONDS:g} s of warm-up; "
        f"server processes: {ceiling_processes} ceiling, {service_processes} service; "
        f"load average {load_before[0]:.2f} before the run, {load_after[0]:.2f} after"
    )
    result = table(ceiling, service)
    print(f"\n{setup}\n\n{result}")
    if args.record:
        measured = f"Measured by `nox -s bench -- --record` on {report.today()}: {setup}."
        report.record("bench", f"{measured}\n\n{result}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
    sys.exit(130)
