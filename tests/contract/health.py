"""What the contract's health-probe checks observe of a running container's HEALTHCHECK, and
the one observation that waits longest, started at the session's start (conftest.py): the
image under a 5% CPU limit."""

import json
import re
import time
from datetime import datetime

from tests import service
from tools import containers as harness
from tools import engine
from tools.containers import remove_container, try_start, wait_for_health

# Under the CPU limit: the image's own timeout and retries, probes every 2 s for this long.
LIMITED_CPUS = "0.05"
OBSERVE_SECONDS = 40
LIMITED_START_SECONDS = 180
NO_HEALTHCHECK = "the image has no HEALTHCHECK"


def health(container: str) -> dict:
    """The container's health: Status, FailingStreak and the Log of its last 5 probes."""
    return harness.state(container).get("Health") or {}


def health_verdict(container: str) -> tuple[str | None, str]:
    """Docker's health status once it is settled, and the last probe's exit code and output as
    evidence. Settled, or the HEALTHCHECK's start period, one interval and one timeout gone:
    a service slower to start than its start period (a busy machine) is probed again only an
    interval later."""
    (inspected,) = json.loads(engine.docker("container", "inspect", container))
    configured = inspected["Config"].get("Healthcheck") or {}
    seconds = sum(configured.get(k, 0) for k in ("StartPeriod", "Interval", "Timeout")) / 1e9
    deadline = time.monotonic() + max(seconds, 30) + 5
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


def moment(stamp: str) -> float:
    """A health log time (RFC 3339 with nanoseconds, as Docker writes it) as a POSIX time."""
    day, _, clock = stamp.partition("T")
    zone = re.search(r"(Z|[+-]\d\d:\d\d)$", clock)
    whole, _, fraction = clock[: zone.start()].partition(".")
    offset = "+00:00" if zone[0] == "Z" else zone[0]
    parsed = datetime.fromisoformat(f"{day}T{whole}{offset}")
    return parsed.timestamp() + float(f"0.{fraction or 0}")


def healthy_and_round_trips(tag: str, *run_args: str) -> tuple[bool, str]:
    """Started with ``run_args``: the HEALTHCHECK says healthy and a link round-trips."""
    container, observed = try_start(tag, *run_args)
    if container is None:
        return False, observed
    try:
        health = wait_for_health(container)
        problem = service.round_trip(container)
        return health == "healthy" and not problem, f"health {health}; {problem or 'round trip'}"
    finally:
        remove_container(container)
