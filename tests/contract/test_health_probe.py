"""The image's HEALTHCHECK measures health and nothing else: not the environment's proxy, not a
small CPU limit, not where the settings moved the service (docs, "Health checks").

On every image: each first asks whether the image has a HEALTHCHECK, and fails without one.
"""

import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tools import containers as harness
from tools import engine, images
from tools.containers import PREFIX, Running, remove_container, try_start
from tools.project import ENV_PREFIX, PACKAGE

from .profile import Expected, Subject, verdict

# The issue's figure: at most this much CPU per probe (it was ~0.18 s, pydantic-settings' import).
PROBE_CPU_SECONDS = 0.050
# Docker's client proxy configuration puts these in every container.
PROXY = "http://127.0.0.1:9"  # refuses
BOTH = {"http_proxy": PROXY, "HTTP_PROXY": PROXY}
PROXIES = {"proxy": BOTH, "proxy, no_proxy=localhost": BOTH | {"no_proxy": "localhost"}}
# Under the CPU limit: the image's own timeout and retries, probes every 2 s for this long.
LIMITED_CPUS = "0.05"
OBSERVE_SECONDS = 40
LIMITED_START_SECONDS = 180
NO_HEALTHCHECK = "the image has no HEALTHCHECK"


def health(container: str) -> dict:
    """The container's health: Status, FailingStreak and the Log of its last 5 probes."""
    return harness.state(container).get("Health") or {}


def health_verdict(container: str, seconds: float = 30) -> tuple[str | None, str]:
    """Docker's health status once it is settled (or after ``seconds``), and the last probe's
    exit code and output as evidence."""
    deadline = time.monotonic() + seconds
    while True:
        found = health(container)
        if not found:  # Docker reports a health state from the start wherever one is set
            return None, NO_HEALTHCHECK
        if found.get("Status") in ("healthy", "unhealthy") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    last = (found.get("Log") or [{}])[-1]
    said = (last.get("Output") or "").strip()[-300:]
    return found.get("Status"), f"last probe exit {last.get('ExitCode')}: {said!r}"


def env_args(env: dict[str, str]) -> list[str]:
    return [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]


def health_of(case: str, container: Running) -> str:
    """One line: the case, the HEALTHCHECK's verdict and its last output. Removes the container."""
    try:
        status, last = health_verdict(container.id)
        return f"{case}: health {status}; {last}"
    finally:
        remove_container(container)


def test_healthcheck_ignores_a_proxy_in_the_environment(
    image: images.Image, expected: Expected
) -> None:
    observed = []
    for case, env in PROXIES.items():
        container, problem = try_start(image.tag, *env_args(env))
        if container is None:
            observed.append(f"{case}: did not start: {problem}")
            continue
        observed.append(health_of(case, container))
    holds = all(": health healthy;" in line for line in observed)
    verdict(expected, holds, " | ".join(observed))


def run_on_port(tag: str, port: int, *env: str) -> Running:
    """Run ``tag`` listening on ``port`` (not its EXPOSEd one, which the start harness polls)."""
    container = engine.docker(
        "run", "--detach", "--name", f"{PREFIX}-{uuid.uuid4().hex[:12]}",
        "--publish", f"127.0.0.1::{port}", "--env", f"{ENV_PREFIX}PORT={port}", *env, tag,
    ).strip()  # fmt: skip
    return Running(container, 0)


def test_healthcheck_follows_the_configured_host_and_port(
    image: images.Image, expected: Expected
) -> None:
    """On another port, on every interface, and on one address only: IPv6 loopback, which a
    probe of 127.0.0.1 cannot reach."""
    cases = {
        "port 8081": (),
        "host :: port 8082": ("--env", f"{ENV_PREFIX}HOST=::"),
        "host ::1 port 8083": ("--env", f"{ENV_PREFIX}HOST=::1"),
    }
    observed = []
    for (case, env), port in zip(cases.items(), (8081, 8082, 8083), strict=True):
        observed.append(health_of(case, run_on_port(image.tag, port, *env)))
    holds = all(": health healthy;" in line for line in observed)
    verdict(expected, holds, " | ".join(observed))


# Run in the image's Python: the CPU (user + system) of each of 7 probes as the HEALTHCHECK
# runs them, `python -m PACKAGE.healthcheck`, against the running service.
PROBE_CPU = f"""
import json, resource, subprocess, sys
runs, codes = [], []
for _ in range(7):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    codes.append(subprocess.run([sys.executable, "-m", "{PACKAGE}.healthcheck"]).returncode)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
print(json.dumps({{"seconds": runs, "exit": codes}}))
"""


def test_a_health_probe_costs_at_most_50_ms_of_cpu(
    image: images.Image, python: Callable[[str], str], expected: Expected, figures: list[str]
) -> None:
    """CPU time, not wall time: other builds on the engine slow the clock, far less the CPU."""
    if not engine.inspect(image.tag)["Config"].get("Healthcheck"):
        verdict(expected, False, NO_HEALTHCHECK)
        return
    measured = json.loads(python(PROBE_CPU))
    median = statistics.median(measured["seconds"])
    runs = ", ".join(f"{seconds * 1000:.0f}" for seconds in measured["seconds"])
    figures.append(f"{image.tag}: health probe CPU, median of 7: {median * 1000:.0f} ms ({runs})")
    holds = median <= PROBE_CPU_SECONDS and set(measured["exit"]) == {0}
    observed = f"median {median * 1000:.0f} ms of CPU per probe ({runs} ms), exits {measured}"
    verdict(expected, holds, observed)


def under_cpu_limit(tag: str) -> tuple[bool, str, str]:
    """``tag`` started under `--cpus 0.05`: whether every probe for OBSERVE_SECONDS passed within
    the image's own timeout (probing every 2 s instead of 30 s, to see many in a short time),
    what was observed, and the figure to show."""
    configured = engine.inspect(tag)["Config"].get("Healthcheck")
    if not configured:
        return False, NO_HEALTHCHECK, ""
    started = time.perf_counter()
    options = ("--cpus", LIMITED_CPUS, "--health-interval", "2s")
    container, problem = try_start(tag, *options, limit=LIMITED_START_SECONDS)
    if container is None:
        return False, f"did not start under --cpus {LIMITED_CPUS}: {problem}", ""
    try:
        start = time.perf_counter() - started
        timeout = configured["Timeout"] / 1e9
        probes: dict[str, dict] = {}
        end = time.monotonic() + OBSERVE_SECONDS
        while time.monotonic() < end:
            # Docker keeps the last 5 probes: read them often enough to see every one.
            probes |= {probe["Start"]: probe for probe in health(container.id).get("Log") or []}
            time.sleep(3)
        found = health(container.id)
        probes |= {probe["Start"]: probe for probe in found.get("Log") or []}
    finally:
        remove_container(container)
    # Probes while it was starting fail (nothing listens yet); from the first pass on, none may.
    first_pass = min((moment(p["Start"]) for p in probes.values() if p["ExitCode"] == 0), default=0)
    after_start = [p for p in probes.values() if moment(p["Start"]) >= first_pass]
    failed = [p.get("Output", "").strip()[-200:] for p in after_start if p["ExitCode"] != 0]
    seconds = [moment(p["End"]) - moment(p["Start"]) for p in after_start if p["ExitCode"] == 0]
    slowest = max(seconds, default=float("nan"))
    figure = (
        f"{tag} under --cpus {LIMITED_CPUS}: served after {start:.0f} s; "
        f"{len(after_start)} probes, {len(failed)} failed, slowest {slowest:.2f} s "
        f"(timeout {timeout:g} s)"
    )
    holds = found.get("Status") == "healthy" and len(seconds) >= 10 and not failed
    observed = (
        f"status {found.get('Status')}, failing streak {found.get('FailingStreak')}; "
        f"{len(seconds)} probes passed, the slowest in {slowest:.2f} s of a {timeout:g} s "
        f"timeout; {len(failed)} failed: {failed[:3]}"
    )
    return holds, observed, figure


@pytest.fixture(scope="session")
def cpu_limited(subjects: list[Subject]) -> dict[str, tuple[bool, str, str]]:
    """under_cpu_limit of every image, observed at the same time: each waits at 5% of a CPU."""
    tags = [subject.tag for subject in subjects]
    with ThreadPoolExecutor(max_workers=len(tags)) as pool:
        return dict(zip(tags, pool.map(under_cpu_limit, tags), strict=True))


def test_stays_healthy_under_a_5_percent_cpu_limit(
    image: images.Image,
    expected: Expected,
    figures: list[str],
    cpu_limited: dict[str, tuple[bool, str, str]],
) -> None:
    holds, observed, figure = cpu_limited[image.tag]
    if figure:
        figures.append(figure)
    verdict(expected, holds, observed)


def moment(stamp: str) -> float:
    """A health log time (RFC 3339 with nanoseconds, as Docker writes it) as a POSIX time."""
    day, _, clock = stamp.partition("T")
    zone = re.search(r"(Z|[+-]\d\d:\d\d)$", clock)
    whole, _, fraction = clock[: zone.start()].partition(".")
    offset = "+00:00" if zone[0] == "Z" else zone[0]
    parsed = datetime.fromisoformat(f"{day}T{whole}{offset}")
    return parsed.timestamp() + float(f"0.{fraction or 0}")
