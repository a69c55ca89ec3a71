"""Load the service on this machine, before and after: ``python -m tools.bench`` (``nox -s bench``).

"Before" is the service at BEFORE_REF, checked out into a temporary git worktree; "after" is
the working tree. Each runs on loopback with a temporary data folder; a raw asyncio HTTP/1.1
keep-alive client (one connection per simulated client) measures requests per second and
latency percentiles per route and client count. With ``--write`` the table goes into the
README between its bench markers.
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
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tools import report
from tools.images import ROOT
from tools.project import HEALTH_PATH

# The last commit before the performance work of issue 10.
BEFORE_REF = "27a2caa"
CLIENTS = (1, 16, 64)
SECONDS_PER_POINT = 10.0
WARMUP_SECONDS = 1.0
LINKS_TO_FOLLOW = 200
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
SYNC_TIMEOUT_SECONDS = 300.0
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
def running_service(python: Path, checkout: Path, data_dir: Path, port: int) -> Iterator[int]:
    """Start ``python -m shortlink`` in ``checkout``; stop it (SIGTERM, then kill)."""
    env = {
        **os.environ,
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_PORT": str(port),
        "SHORTLINK_DATA_DIR": str(data_dir),
        "SHORTLINK_ADMIN_TOKEN_FILE": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    server = subprocess.Popen(
        [str(python), "-m", "shortlink"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the service in {checkout} exited: {server.stderr.read()!r}")
            try:
                health = f"http://127.0.0.1:{port}{HEALTH_PATH}"
                with urllib.request.urlopen(health, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the service in {checkout} did not start") from None
                time.sleep(0.2)
        yield server.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@contextlib.contextmanager
def before_checkout(ref: str) -> Iterator[Path]:
    """``ref`` in a temporary git worktree with its locked venv; removed whatever happens."""
    with tempfile.TemporaryDirectory(prefix="bench-before-") as parent:
        path = Path(parent) / "checkout"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), ref],
            check=True,
        )
        try:
            subprocess.run(
                ["uv", "sync", "--locked", "--no-dev", "--quiet"],
                cwd=path,
                check=True,
                timeout=SYNC_TIMEOUT_SECONDS,
                env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(path / ".venv")},
            )
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False
            )


def measure(label: str, python: Path, checkout: Path, seconds: float) -> tuple[list[Point], int]:
    with tempfile.TemporaryDirectory(prefix="bench-data-") as data_dir:
        port = free_port()
        with running_service(python, checkout, Path(data_dir), port) as pid:
            processes = server_processes(pid)
            print(f"{label}: {checkout}, {processes} server process(es)", flush=True)
            return asyncio.run(measure_service(port, label, seconds)), processes


def table(before: list[Point], after: list[Point]) -> str:
    lines = [
        "| route | clients | before: req/s | p50 | p99 | after: req/s | p50 | p99 | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for old, new in zip(before, after, strict=True):
        lines.append(
            f"| `{new.route}` | {new.clients} "
            f"| {old.per_second:,.0f} | {old.p50_ms:.1f} ms | {old.p99_ms:.1f} ms "
            f"| {new.per_second:,.0f} | {new.p50_ms:.1f} ms | {new.p99_ms:.1f} ms "
            f"| {new.per_second / old.per_second:.1f}x |"
        )
    failed = sum(p.failures for p in before + after)
    if failed:
        lines.append(f"\n{failed} requests answered an unexpected status.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS_PER_POINT)
    parser.add_argument("--ref", default=BEFORE_REF, help="the git ref measured as 'before'")
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with before_checkout(args.ref) as checkout:
        python = checkout / ".venv" / "bin" / "python"
        before, before_processes = measure(f"before ({args.ref})", python, checkout, args.seconds)
    # This interpreter's environment holds the working tree's project and its locked deps.
    after, after_processes = measure("after", Path(sys.executable), ROOT, args.seconds)
    load_after = os.getloadavg()
    setup = (
        f"{report.machine()}, Python {sys.version.split()[0]}; client and server on the same "
        f"machine; {args.seconds:g} s per point after {WARMUP_SECONDS:g} s of warm-up; "
        f"server processes: {before_processes} before, {after_processes} after; "
        f"load average {load_before[0]:.2f} before the run, {load_after[0]:.2f} after"
    )
    result = table(before, after)
    print(f"\n{setup}\n\n{result}")
    if args.write:
        measured = f"Measured by `nox -s bench` on {report.today()}: {setup}."
        report.replace_section("bench", f"{measured}\n\n{result}")
        print("README.md updated with these results")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
