"""Load the optimized image beside its stack's ceiling: ``python -m lab.bench [--seconds S]
[--record]`` (``nox -s bench``).

Both servers run in the built optimized image (tools/images.py's OPTIMIZED), one after the
other, each in a container started by the harness the image tests use (tools/containers.py),
its port 8000 published on an ephemeral port of 127.0.0.1: the service as `nox -s up` runs it,
its /data on a temporary named volume; the ceiling, lab/ceiling.py (the service's routes on the
same FastAPI and uvicorn, answering constants with no I/O), mounted read-only and run by the
image's own Python and venv. The load stays on the host: wrk (Debian's; its script
lab/bench.lua), a C client that leaves the cores to the server it loads, one keep-alive
connection per client, measures requests per second and latency percentiles per route and
client count through the published port, and the service's share of the ceiling. Every
container and volume it makes is removed, on failure and Ctrl-C too. With
``--record`` the table goes into lab/results/bench.md (lab/report.py).

Exits 0 when done; 1 with one line on stderr when the engine does not answer, the image is not
built, wrk is missing, or a server does not start or answer.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from lab import platforms, report
from tools import base_images, containers, engine, images
from tools.project import NAME, ROOT

CLIENTS = (1, 16, 64)
SECONDS_PER_POINT = 10
WARMUP_SECONDS = 1
LINKS_TO_FOLLOW = 200
START_TIMEOUT_SECONDS = 60.0
# A request (or a connection) that takes this long fails the run: no point can hang it.
REQUEST_TIMEOUT_SECONDS = 10
# The load: wrk's script, and the routes it loads, by its BENCH_ROUTE.
SCRIPT = ROOT / "lab" / "bench.lua"
ROUTES = {"get": "GET /{code}", "post": "POST /links"}
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


def wrk(port: int, route: str, clients: int, seconds: int, codes: list[str]) -> Point:
    """One point: wrk (lab/bench.lua) loads ``route`` ("get" follows ``codes``, "post" creates
    links) on 127.0.0.1:``port`` with ``clients`` keep-alive connections for ``seconds``, after
    WARMUP_SECONDS of the same load that is not counted. ImageToolError when wrk is missing or
    fails."""
    if shutil.which("wrk") is None:
        raise engine.ImageToolError("wrk is not installed (Debian: apt-get install wrk)")
    environment = os.environ | {"BENCH_ROUTE": route, "BENCH_CODES": ",".join(codes)}
    threads = min(clients, os.cpu_count() or 1)
    last = ""
    for duration in (WARMUP_SECONDS, seconds):
        command = [
            "wrk", f"--threads={threads}", f"--connections={clients}",
            f"--duration={duration}s", f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
            f"--script={SCRIPT}", f"http://127.0.0.1:{port}",
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, env=environment,
            timeout=duration + REQUEST_TIMEOUT_SECONDS + 30,
        )  # fmt: skip
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        if done.returncode or not last.startswith("{"):
            raise engine.ImageToolError(f"wrk failed: {done.stderr.strip() or done.stdout}")
    result = json.loads(last)
    return Point(
        ROUTES[route], clients, result["requests"], result["failures"], result["seconds"],
        result["p50_ms"], result["p99_ms"],
    )  # fmt: skip


def create_links(container: containers.Running, label: str) -> list[str]:
    """LINKS_TO_FOLLOW new links' codes, created through the API; ImageToolError when one is
    refused."""
    codes = []
    for n in range(LINKS_TO_FOLLOW):
        answer = container.request("POST", "/links", {"url": f"https://bench.example/{n}"})
        if answer.status not in (200, 201):
            raise engine.ImageToolError(
                f"{label}: creating a link answered {answer.status}: {answer.body[:200]!r}"
            )
        codes.append(answer.json()["code"])
    return codes


def measure_service(container: containers.Running, label: str, seconds: int) -> list[Point]:
    codes = create_links(container, label)
    points = []
    for route in ROUTES:
        for clients in CLIENTS:
            point = wrk(container.port, route, clients, seconds, codes)
            print(
                f"  {label}: {point.route} x{clients}: {point.per_second:,.0f} req/s, "
                f"p50 {point.p50_ms:.1f} ms, p99 {point.p99_ms:.1f} ms, "
                f"{point.failures} failed",
                flush=True,
            )
            points.append(point)
    return points


def server_processes(container: str) -> int:
    """How many processes serve requests: every process in the container (its PID 1 and any
    children), as `docker top` lists them."""
    listed = engine.docker("top", container, "-o", "pid").splitlines()
    return len(listed) - 1  # the header


def wrk_version() -> str:
    """wrk's version, as it prints it (`debian/4.1.0-3+b2`)."""
    printed = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return printed.split()[1] if printed.startswith("wrk ") else "(version unknown)"


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
    label: str, *run_args: str, command: tuple[str, ...] = (), seconds: int
) -> tuple[list[Point], int]:
    """Points for every route and client count, and how many processes served them."""
    with serving(label, *run_args, command=command) as container:
        processes = server_processes(container.id)
        shown = " ".join(command) or "the image's CMD"
        print(f"{label}: {shown}, {processes} server process(es)", flush=True)
        return measure_service(container, label, seconds), processes


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
    parser.add_argument("--seconds", type=int, default=SECONDS_PER_POINT, help="per point")
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
    except (TimeoutError, subprocess.TimeoutExpired):
        print(f"bench: no answer within {REQUEST_TIMEOUT_SECONDS} s", file=sys.stderr)
        return 1
    except (engine.ImageToolError, ConnectionError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    used = ", ".join(f"{ref} -> {bases[ref]}" for ref in images.OPTIMIZED.base_images())
    setup = (
        f"{report.machine()}; image {tag}, Python {python}, base images: {used}; Docker "
        f"engine {engine_version} ({store} image store); each server in a container of the "
        f"image, the load from wrk {wrk_version()} on the host through the port published on "
        f"127.0.0.1; {args.seconds} s per point after {WARMUP_SECONDS} s of warm-up; server "
        f"processes in the container: {ceiling_processes} ceiling, {service_processes} "
        f"service; load average {load_before[0]:.2f} before the run, {load_after[0]:.2f} after"
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
