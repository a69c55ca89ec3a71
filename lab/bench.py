"""Load the optimized image beside its stack's ceiling: ``python -m lab.bench [--seconds S]
[--record]`` (``nox -s bench``).

Both servers run in the built optimized image (tools/images.py's OPTIMIZED), one after the
other, each in a container started by the harness the image tests use (tools/containers.py),
its port 8000 published on an ephemeral port of 127.0.0.1: the service as `nox -s up` runs it,
its /data on a temporary named volume; the ceiling, lab/ceiling.py (the service's routes on the
same FastAPI and uvicorn, answering constants with no I/O), mounted read-only and run by the
image's own Python and venv. The load stays on the host: a raw asyncio HTTP/1.1 keep-alive
client (one connection per simulated client) measures requests per second and latency
percentiles per route and client count through the published port, and the service's share of
the ceiling. Every container and volume it makes is removed, on failure and Ctrl-C too. With
``--record`` the table goes into lab/results/bench.md (lab/report.py).

Exits 0 when done; 1 with one line on stderr when the engine does not answer, the image is not
built, or a server does not start or answer.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lab import platforms, report
from tools import base_images, containers, engine, images
from tools.project import NAME, ROOT

CLIENTS = (1, 16, 64)
SECONDS_PER_POINT = 10.0
WARMUP_SECONDS = 1.0
LINKS_TO_FOLLOW = 200
START_TIMEOUT_SECONDS = 60.0
# A request (or a connection) that takes this long fails the run: no point can hang it.
REQUEST_TIMEOUT_SECONDS = 10.0
# Every container and volume the bench makes carries this prefix and is removed by it.
PREFIX = f"{NAME}-bench"
CEILING = ROOT / "lab" / "ceiling.py"
# Where the ceiling's file is mounted: outside the venv and /data.
CEILING_IN_CONTAINER = "/ceiling.py"
# The address the image's service listens on (its SHORTLINK_HOST): the ceiling uses it too.
CONTAINER_HOST = "0.0.0.0"  # noqa: S104  (inside the container; published on loopback only)


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
        """Connect to 127.0.0.1:``port``; TimeoutError after REQUEST_TIMEOUT_SECONDS."""
        opening = asyncio.open_connection("127.0.0.1", port)
        return cls(*await asyncio.wait_for(opening, REQUEST_TIMEOUT_SECONDS))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send ``raw``; the answer's status and body. TimeoutError after
        REQUEST_TIMEOUT_SECONDS."""
        return await asyncio.wait_for(self._exchange(raw), REQUEST_TIMEOUT_SECONDS)

    async def _exchange(self, raw: bytes) -> tuple[int, bytes]:
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
                status, _ = await connection.request(next_request(number, sent))
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


def server_processes(container: str) -> int:
    """How many processes serve requests: every process in the container (its PID 1 and any
    children), as `docker top` lists them."""
    listed = engine.docker("top", container, "-o", "pid").splitlines()
    return len(listed) - 1  # the header


def image_python(tag: str) -> str:
    """The version of the Python the image runs (3.14.8), asked of the image itself."""
    version = "import platform; print(platform.python_version())"
    return engine.docker("run", "--rm", "--network=none", tag, "python", "-c", version).strip()


@contextlib.contextmanager
def serving(
    label: str, *run_args: str, command: tuple[str, ...] = ()
) -> Iterator[containers.Running]:
    """The optimized image in a container, ``run_args`` before the image and ``command``
    replacing its CMD, until its health path answers on its published port; removed, with its
    anonymous volumes, on the way out. ImageToolError, with its last log lines, when it exits
    or does not answer within START_TIMEOUT_SECONDS."""
    name = f"{PREFIX}-{label}-{uuid.uuid4().hex[:12]}"
    try:
        try:
            container, _ = containers.serve(
                images.OPTIMIZED.tag,
                *run_args,
                name=name,
                command=command,
                limit=START_TIMEOUT_SECONDS,
                interval=0.2,
                log_lines=5,
            )
        except containers.NotServing as failure:
            raise engine.ImageToolError(f"{label} did not start: {failure}") from None
        yield container
    finally:
        # By name: an interrupted `docker run` may leave a container whose id was never read.
        containers.remove_container(name)


def measure(
    label: str, *run_args: str, command: tuple[str, ...] = (), seconds: float
) -> tuple[list[Point], int]:
    """Points for every route and client count, and how many processes served them."""
    with serving(label, *run_args, command=command) as container:
        processes = server_processes(container.id)
        shown = " ".join(command) or "the image's CMD"
        print(f"{label}: {shown}, {processes} server process(es)", flush=True)
        return asyncio.run(measure_service(container.port, label, seconds)), processes


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
    tag = images.OPTIMIZED.tag
    try:
        engine_version = engine.require_engine()
        images.require_built(images.OPTIMIZED)
        bases = base_images.used()
        store = platforms.store_name()
        python = image_python(tag)
        load_before = os.getloadavg()
        ceiling, ceiling_processes = measure(
            "ceiling",
            f"--volume={CEILING}:{CEILING_IN_CONTAINER}:ro",
            command=(
                *("python", CEILING_IN_CONTAINER),
                *("--host", CONTAINER_HOST, "--port", str(containers.CONTAINER_PORT)),
            ),
            seconds=args.seconds,
        )
        with containers.named_volume(f"{PREFIX}-data") as data:
            service, service_processes = measure(
                "service", f"--volume={data}:/data", seconds=args.seconds
            )
        load_after = os.getloadavg()
    except TimeoutError:
        print(f"bench: no answer within {REQUEST_TIMEOUT_SECONDS:g} s", file=sys.stderr)
        return 1
    except (engine.ImageToolError, ConnectionError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    used = ", ".join(f"{ref} -> {bases[ref]}" for ref in images.OPTIMIZED.base_images())
    setup = (
        f"{report.machine()}; image {tag}, Python {python}, base images: {used}; Docker "
        f"engine {engine_version} ({store} image store); each server in a container of the "
        f"image, the client on the host through the port published on 127.0.0.1; "
        f"{args.seconds:g} s per point after {WARMUP_SECONDS:g} s of warm-up; server processes "
        f"in the container: {ceiling_processes} ceiling, {service_processes} service; load "
        f"average {load_before[0]:.2f} before the run, {load_after[0]:.2f} after"
    )
    result = table(ceiling, service)
    print(f"\n{setup}\n\n{result}")
    if args.record:
        measured = f"Measured by `nox -s bench -- --record` on {report.today()}: {setup}."
        report.record("bench", f"{measured}\n\n{result}")
    return 0


if __name__ == "__main__":
    # A SIGTERM (nox's, after its interrupt timeout) unwinds like Ctrl-C: containers removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
    sys.exit(130)
