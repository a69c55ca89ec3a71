"""The contract's harness: which images are under test, their running containers, testinfra
beside them, and the report of what did not apply. The service's feature checks
(tests/features) use the same fixtures.

The images under test are the service's own, those whose Dockerfile is present
(tools/images.py), each with its profile from the seam (tests/service.py, ``IMAGES``), and any
other room's, through the hook ``pytest_contract_images`` (profile.py).
"""

import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import testinfra

from tests import service
from tests.summary import check_id, report
from tools import base_images, engine, images
from tools.containers import (
    PREFIX,
    Running,
    database_beside,
    named_volume,
    remove_container,
    run_python,
    start,
)
from tools.profile import profile

from . import toolbox
from .health import under_cpu_limit
from .profile import Expected, Subject


class HookSpecs:
    @pytest.hookspec
    def pytest_contract_images(self) -> list[Subject]:
        """Images another room brings to the contract, each with its expected outcomes."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(HookSpecs)


def own_images() -> list[Subject]:
    """The service's images whose Dockerfile is present, each with the seam's profile."""
    return [
        Subject(image.name, image.tag, image.dockerfile, profile=service.IMAGES[image.name])
        for image in images.shipped()
    ]


def under_test(config: pytest.Config) -> list[Subject]:
    """The service's images, then those other rooms bring (the hook)."""
    brought = config.hook.pytest_contract_images()
    return own_images() + [subject for more in brought for subject in more]


def image_of(item: pytest.Item) -> images.Image | None:
    """The image a check runs on; None for a check on no image."""
    return getattr(item, "callspec", None) and item.callspec.params.get("image")


def parametrize_images(metafunc: pytest.Metafunc, subjects: list[Subject]) -> None:
    """One case per image. An image's cases in one module are one group: pytest-xdist
    (``--dist loadgroup``) runs them in one worker, which alone starts the containers and
    builds they share (the pool's container, a canary build)."""
    module = metafunc.definition.path.name
    metafunc.parametrize(
        "image",
        [
            pytest.param(s, marks=pytest.mark.xdist_group(f"{s.name} {module}"), id=s.name)
            for s in subjects
        ],
    )


def group_of(item: pytest.Item) -> str | None:
    """The group of a check on an image (parametrize_images); None for a check on no image."""
    marker = item.get_closest_marker("xdist_group")
    return marker.args[0] if marker else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image" in metafunc.fixturenames:
        parametrize_images(metafunc, under_test(metafunc.config))


IMAGE_LACKS = "not applicable to this image (its profile, tests/service.py)"
# The check whose observation, a minute at 5% of a CPU, starts with the first check on an image.
CPU_LIMITED = "test_stays_healthy_under_a_5_percent_cpu_limit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A check marked ``declared(FIELD)`` applies to an image whose profile sets FIELD; on the
    others it is deselected and listed by name (never skipped silently)."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("declared")
        subject = image_of(item)
        if marker and isinstance(subject, Subject) and not getattr(subject.profile, marker.args[0]):
            dropped.append(item)
            lacks = f"{subject.name} does not declare {marker.args[0]}"
            report(IMAGE_LACKS, f"{check_id(item)}: {lacks}")
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # The check under a CPU limit reads an observation started with its image's first check
    # (cpu_limited): last, it finds it done instead of waiting for it.
    items[:] = sorted(kept, key=lambda item: getattr(item, "originalname", "") == CPU_LIMITED)


@pytest.fixture
def expected(request: pytest.FixtureRequest, image: Subject) -> Expected:
    """What this check must find on ``image`` (profile.Subject.expected)."""
    cases = [v for k, v in request.node.callspec.params.items() if k != "image"]
    return image.expected(request.node.originalname, str(cases[0]) if cases else None)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run in one line when the engine, an image, the record of its bases or the
    database's image is missing: in the process that starts pytest-xdist's workers, before it
    starts them (a worker that stops the run crashes it: a traceback, INTERNALERROR)."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        engine.require_engine()
        images.require_built(*under_test(session.config))
        base_images.used()
        if database := profile().database:
            base_images.image_to_run(database.image)
    except engine.ImageToolError as error:
        pytest.exit(str(error), returncode=1)


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str | None]:
    """The database the service's profile declares, serving beside every container the checks
    start (tools.containers.database_beside): its container id; None without one. When it does
    not serve, each check fails with the one line that says why."""
    with contextlib.ExitStack() as stack:
        try:
            beside = stack.enter_context(database_beside())
        except engine.ImageToolError as error:
            pytest.fail(f"the database beside the service: {error}", pytrace=False)
        yield beside


class CpuLimited:
    """The 5%-CPU observation (health.under_cpu_limit) of each image whose check under that
    limit was selected, started with this process's first check on an image, beside the others,
    since it waits a minute; read by that check, run last. Under pytest-xdist each worker starts
    them all, as it cannot know which worker will run the check: the other's copy costs a
    container at 5% of a CPU, where waiting for it in the check's own group held a worker idle
    for most of a minute."""

    def __init__(self, session: pytest.Session, pool: ThreadPoolExecutor) -> None:
        wanted = {image_of(item).tag for item in session.items if item.originalname == CPU_LIMITED}
        self._started = {tag: pool.submit(under_cpu_limit, tag) for tag in sorted(wanted)}

    def result(self, tag: str) -> tuple[bool, str, str]:
        """(holds, what was observed, a figure for the summary)."""
        return self._started[tag].result()


@pytest.fixture(scope="session")
def cpu_limited(request: pytest.FixtureRequest, database: str | None) -> Iterator[CpuLimited]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield CpuLimited(request.session, pool)


# The groups whose checks this process ran; in pytest-xdist's controller, the workers that
# ran each group: one each, or the containers and builds it shares were made twice.
RAN: set[str] = set()
WORKERS_OF: dict[str, set[str]] = {}


@pytest.fixture(autouse=True)
def _observe_cpu_limit_from_the_first_check(
    request: pytest.FixtureRequest, cpu_limited: CpuLimited
) -> None:
    group = group_of(request.node)
    if group is not None:
        RAN.add(group)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    for group in getattr(node, "workeroutput", {}).get("groups", []):
        WORKERS_OF.setdefault(group, set()).add(node.gateway.id)


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["groups"] = sorted(RAN)
    spread = {group: sorted(workers) for group, workers in WORKERS_OF.items() if len(workers) > 1}
    if spread:  # pytest-xdist ignored the groups (pytest-dev/pytest-xdist#1386 did so)
        report("error", f"a group's checks must run in one worker; ran in several: {spread}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def bases() -> dict[str, str]:
    """Official base image name -> the image `nox -s build` used (official or stand-in)."""
    return base_images.used()


class ContainerPool:
    """One running container per image, shared by the checks that only look at it."""

    def __init__(self) -> None:
        self._running: dict[str, Running] = {}

    def get(self, image: images.Image) -> Running:
        if image.tag not in self._running:
            self._running[image.tag] = start(image.tag)
        return self._running[image.tag]

    def close(self) -> None:
        for container in self._running.values():
            remove_container(container)


@pytest.fixture(scope="session")
def pool() -> Iterator[ContainerPool]:
    containers = ContainerPool()
    yield containers
    containers.close()


@pytest.fixture
def container(pool: ContainerPool, image: images.Image) -> Running:
    return pool.get(image)


class Toolboxes:
    """A toolbox beside each of the pool's containers (toolbox.py), its image built once."""

    def __init__(self, pool: ContainerPool, bases: dict[str, str]) -> None:
        self._pool = pool
        self._tag = toolbox.build(bases)
        self._attached: dict[str, str] = {}

    def host(self, image: images.Image) -> testinfra.host.Host:
        if image.tag not in self._attached:
            self._attached[image.tag] = toolbox.attach(self._tag, self._pool.get(image))
        return toolbox.get_host(self._attached[image.tag])

    def close(self) -> None:
        for container in self._attached.values():
            engine.remove_container(container)
        toolbox.remove_image(self._tag)


@pytest.fixture(scope="session")
def toolboxes(pool: ContainerPool, bases: dict[str, str]) -> Iterator[Toolboxes]:
    """Torn down before the pool it depends on: the toolboxes, then their image, go first."""
    boxes = Toolboxes(pool, bases)
    try:
        yield boxes
    finally:
        boxes.close()


@pytest.fixture
def host(toolboxes: Toolboxes, image: images.Image) -> testinfra.host.Host:
    """testinfra's host for the running container of ``image``: its processes and sockets, and
    its files under toolbox.CONTAINER_ROOT (/proc/1/root), through a toolbox beside it."""
    return toolboxes.host(image)


@pytest.fixture
def volume() -> Iterator[str]:
    """A named volume for /data, removed afterwards."""
    with named_volume(PREFIX) as name:
        yield name


@pytest.fixture
def python(container: Running, image: Subject):
    """``python(code)``: its stdout, run by the image's own Python in its running container
    (fails the check, with Python's error, when it exits non-zero)."""

    def run(code: str) -> str:
        done = run_python(container, image.profile.python, code)
        assert done.returncode == 0, f"{image.tag}'s Python failed: {done.stderr[-2000:]}"
        return done.stdout

    return run


@pytest.fixture
def figures() -> Callable[[str], None]:
    """``figures(line)``: a measurement shown at the end of the run, whatever the outcome."""
    return functools.partial(report, "image measurements")
