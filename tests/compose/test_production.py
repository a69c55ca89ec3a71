"""`docker compose up --wait`: the production shape, locked down, healthy, its data on a volume."""

import json
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import service
from tools import compose, engine, images
from tools.containers import Running as Container
from tools.containers import wait_for_health
from tools.profile import profile
from tools.project import ROOT

from .stack import Stack, numeric_non_root

TOKEN = "compose-test-admin-token"


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A file for each secret the profile declares, as the variables that name them."""
    folder = tmp_path_factory.mktemp("secrets")
    named = {}
    for name in profile().secrets:
        path = folder / name
        path.write_text(TOKEN + "\n")
        # Readable by the image's uid, as a user's `echo ... > admin_token` would be.
        path.chmod(0o644)
        named[compose.secret_variable(name)] = str(path)
    return named


@contextmanager
def new_stack(secret_files: dict[str, str]) -> Iterator[Stack]:
    stack = Stack(env=secret_files)
    try:
        yield stack
    finally:
        left = stack.remove()
        assert not left, f"left behind by {stack.project}: {left}"


@pytest.fixture(scope="module")
def stack(secret_files: dict[str, str]) -> Iterator[Stack]:
    """One stack, up and healthy, shared by the checks that only look at it."""
    with new_stack(secret_files) as running:
        running.up()
        yield running


@pytest.fixture(scope="module")
def app(stack: Stack) -> Container:
    return stack.container("app")


@pytest.fixture
def own_stack(secret_files: dict[str, str]) -> Iterator[Stack]:
    """A stack for a test that takes it down and up again."""
    with new_stack(secret_files) as fresh:
        yield fresh


def test_compose_file_is_valid() -> None:
    missing = {compose.secret_variable(name): "/nonexistent" for name in profile().secrets}
    done = Stack(env=missing).run("config", "--quiet", check=False)
    assert done.returncode == 0, done.stderr
    plain = engine.docker(
        "compose", "-f", str(compose.COMPOSE_FILE), "config", "--quiet", check=False
    )
    assert plain == ""


@pytest.mark.feature("ADMIN_TOKEN")
def test_without_the_token_file_up_says_in_one_line_which_file_to_create(tmp_path: Path) -> None:
    secret = Path(service.ADMIN_TOKEN.path).name
    missing = tmp_path / secret
    stack = Stack(env={compose.secret_variable(secret): str(missing)})
    try:
        done = stack.run("up", "--wait", "--build", "app", timeout=600, check=False)
    finally:
        assert not stack.remove()
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert str(missing) in last_line, done.stderr[-2000:]


def test_reaches_healthy_and_round_trips_through_the_published_port(app: Container) -> None:
    assert wait_for_health(app) == "healthy"
    assert service.round_trip(app) == ""


def test_runs_locked_down_as_the_compose_file_says(stack: Stack, app: Container) -> None:
    """Read from the running container, not from the YAML: what the engine was really told."""
    running = stack.inspect(app)
    host, config = running["HostConfig"], running["Config"]
    image = engine.inspect(running["Image"])
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in (host["Tmpfs"] or {})
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert numeric_non_root(config["User"])
    assert config["User"] == image["Config"]["User"]
    assert config["Healthcheck"] == image["Config"]["Healthcheck"]
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert (
        service.GRACEFUL_SHUTDOWN_SECONDS
        < config["StopTimeout"]
        <= service.GRACEFUL_SHUTDOWN_SECONDS + 5
    )
    mounts = {mount["Destination"]: mount for mount in running["Mounts"]}
    assert mounts["/data"]["Type"] == "volume"


# docker stats' sizes: "58.3MiB / 256MiB".
UNITS = {"B": 1, "kB": 1e3, "KiB": 2**10, "MB": 1e6, "MiB": 2**20, "GB": 1e9, "GiB": 2**30}


def size(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.strip()).groups()
    return float(number) * UNITS[unit]


def test_runs_healthy_within_memory_and_pids_limits(stack: Stack, app: Container) -> None:
    """OWASP Docker rule 7: memory and processes capped, and the service healthy and serving
    well within the caps after a burst of writes (read from the engine, not the YAML)."""
    host = stack.inspect(app)["HostConfig"]
    assert host["Memory"] > 0, "no memory limit"
    assert (host["PidsLimit"] or 0) > 0, "no pids limit"
    assert all(service.write(app, n) for n in range(200))
    used = engine.docker(
        "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", app.id
    ).strip()
    memory, pids = used.split("|")
    assert size(memory.split("/")[0]) < host["Memory"] / 2, used
    assert int(pids) < host["PidsLimit"] / 2, used
    assert wait_for_health(app) == "healthy"
    assert service.round_trip(app) == ""


@pytest.mark.feature("ADMIN_TOKEN")
def test_the_admin_token_comes_from_a_read_only_secret_file(stack: Stack, app: Container) -> None:
    token = service.ADMIN_TOKEN
    mounts = {mount["Destination"]: mount for mount in stack.inspect(app)["Mounts"]}
    assert mounts[token.path]["Type"] == "bind"
    assert mounts[token.path]["RW"] is False
    assert token.accepted(app, TOKEN)
    assert token.required(app)
    assert not token.accepted(app, "not-the-token")


def test_links_survive_down_and_up_and_go_with_down_volumes(own_stack: Stack) -> None:
    own_stack.up()
    key = service.write(own_stack.container("app"), 1)
    assert key
    own_stack.run("down")
    own_stack.up()
    assert service.stored(own_stack.container("app"), key)
    own_stack.run("down", "--volumes")
    own_stack.up()
    assert not service.stored(own_stack.container("app"), key)


def test_default_build_target_is_the_production_stage() -> None:
    """`docker build .` builds the last stage: it must stay the runtime, never the builder."""
    stages = images.OPTIMIZED.from_lines()
    assert stages[-1][1] == "runtime"


# Run in an image's Python: its installed distributions, whether uv and the sources are there.
INVENTORY = (
    "import importlib.metadata as m, json, pathlib, shutil; print(json.dumps({"
    "'dists': sorted(d.metadata['Name'].lower().replace('_', '-') for d in m.distributions()),"
    "'uv': bool(shutil.which('uv') or shutil.which('uvx')),"
    "'sources': pathlib.Path('/app/src').exists()}))"
)


def inventory(image: str) -> dict:
    return json.loads(
        engine.docker("run", "--rm", "--entrypoint", "python", image, "-c", INVENTORY)
    )


def group(name: str) -> set[str]:
    """The distributions a dependency group of pyproject.toml names, its included groups too."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    names: set[str] = set()
    for spec in groups[name]:
        if isinstance(spec, dict):
            names |= group(spec["include-group"])
        else:
            names.add(re.split(r"[<>=!~\[; ]", spec)[0].lower())
    return names


def test_production_image_has_no_group_dependencies_uv_or_sources(stack: Stack) -> None:
    found = inventory(stack.image("app"))
    assert not group("dev") & set(found["dists"])
    assert not found["uv"]
    assert not found["sources"]


def test_dev_image_has_the_test_group_and_sources_and_no_other_group(stack: Stack) -> None:
    """The contrast: the same inventory finds what the dev loop needs where it is, and only that."""
    stack.run("--profile", "dev", "build", "dev", timeout=600)
    found = inventory(stack.image("dev"))
    assert group("test") <= set(found["dists"])
    assert not (group("dev") - group("test")) & set(found["dists"])
    assert found["sources"]


# Run in an image's Python: how many CA certificates a default TLS context trusts.
TRUSTED_CAS = "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])"


def trusted_cas(image: str, *run_args: str) -> int:
    return int(engine.docker("run", "--rm", *run_args, image, "python", "-c", TRUSTED_CAS))


def test_https_from_the_dev_and_production_images_verifies_against_the_system_cas(
    stack: Stack,
) -> None:
    """No build-time TLS setting (SSL_CERT_FILE pointing at a build secret) reaches an image:
    a default TLS context there trusts the base's CA certificates. The negative control: with
    the build secret's path set, as an inherited ENV once did, it trusts none."""
    stack.run("--profile", "dev", "build", "dev", timeout=600)
    for service_name in ("app", "dev"):
        image = stack.image(service_name)
        config = engine.inspect(image)["Config"]
        assert not [v for v in config["Env"] if v.startswith(("SSL_CERT_FILE=", "NETRC="))]
        assert trusted_cas(image) > 0, f"{image}: a default TLS context trusts no CA"
        assert trusted_cas(image, "--env", "SSL_CERT_FILE=/run/secrets/ca-bundle") == 0
