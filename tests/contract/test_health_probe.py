"""The image's HEALTHCHECK measures health and nothing else: not the environment's proxy, not a
small CPU limit, not where the settings moved the service (docs, "Health checks").

On every image: each first asks whether the image has a HEALTHCHECK, and fails without one.
"""

import json
import statistics
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tools import engine, images
from tools.containers import PREFIX, Running, remove_container, run_detached, try_start
from tools.project import ENV_PREFIX, PACKAGE

from .conftest import CpuLimited
from .health import NO_HEALTHCHECK, health_verdict
from .profile import Expected, verdict

# The issue's figure: at most this much CPU per probe (it was ~0.18 s, pydantic-settings' import).
PROBE_CPU_SECONDS = 0.050
# Docker's client proxy configuration puts these in every container.
PROXY = "http://127.0.0.1:9"  # refuses
BOTH = {"http_proxy": PROXY, "HTTP_PROXY": PROXY}
PROXIES = {"proxy": BOTH, "proxy, no_proxy=localhost": BOTH | {"no_proxy": "localhost"}}


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
    def observe(case: str) -> str:
        container, problem = try_start(image.tag, *env_args(PROXIES[case]))
        return (
            f"{case}: did not start: {problem}" if container is None else health_of(case, container)
        )

    with ThreadPoolExecutor() as pool:  # the cases wait for probes: side by side
        observed = list(pool.map(observe, PROXIES))
    holds = all(": health healthy;" in line for line in observed)
    verdict(expected, holds, " | ".join(observed))


def run_on_port(tag: str, port: int, *env: str) -> Running:
    """Run ``tag`` listening on ``port`` (not its EXPOSEd one, which the start harness polls),
    as the harness runs every image: the profile's settings, its database beside it."""
    name = f"{PREFIX}-{uuid.uuid4().hex[:12]}"
    return run_detached(tag, "--env", f"{ENV_PREFIX}PORT={port}", *env, name=name, port=port)


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
    ports = dict(zip(cases, (8081, 8082, 8083), strict=True))

    def observe(case: str) -> str:
        return health_of(case, run_on_port(image.tag, ports[case], *cases[case]))

    with ThreadPoolExecutor() as pool:  # the cases wait for probes: side by side
        observed = list(pool.map(observe, cases))
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
    image: images.Image,
    python: Callable[[str], str],
    expected: Expected,
    figures: Callable[[str], None],
) -> None:
    """CPU time, not wall time: other builds on the engine slow the clock, far less the CPU."""
    if not engine.inspect(image.tag)["Config"].get("Healthcheck"):
        verdict(expected, False, NO_HEALTHCHECK)
        return
    measured = json.loads(python(PROBE_CPU))
    median = statistics.median(measured["seconds"])
    runs = ", ".join(f"{seconds * 1000:.0f}" for seconds in measured["seconds"])
    figures(f"{image.tag}: health probe CPU, median of 7: {median * 1000:.0f} ms ({runs})")
    holds = median <= PROBE_CPU_SECONDS and set(measured["exit"]) == {0}
    observed = f"median {median * 1000:.0f} ms of CPU per probe ({runs} ms), exits {measured}"
    verdict(expected, holds, observed)


def test_stays_healthy_under_a_5_percent_cpu_limit(
    image: images.Image,
    expected: Expected,
    figures: Callable[[str], None],
    cpu_limited: CpuLimited,
) -> None:
    """Observed from the image's first check on (conftest.py), beside the others: it waits."""
    holds, observed, figure = cpu_limited.result(image.tag)
    if figure:
        figures(figure)
    verdict(expected, holds, observed)
