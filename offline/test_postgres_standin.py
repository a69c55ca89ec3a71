"""The database image behaves as the official `postgres:17-trixie` where a service beside it, or
a check, notices. The image checked is the one `tools.base_images.image_to_run` gives for that
name: the official image where it is present or a registry answers, its stand-in (made from
trixie's PostgreSQL, offline/standins.py, `_make_postgres`, which lists what it still differs
in) otherwise. `nox -s test` runs them while offline/ is present.

Each check cites what it mirrors in docker-library/postgres (read at commit 6edb0a8c:
`17/trixie/Dockerfile` and `17/trixie/docker-entrypoint.sh`). Every container, volume and
network a check makes is removed at its end, whatever the outcome.
"""

import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline import standins
from tools import base_images, engine
from tools.project import NAME

OFFICIAL = "postgres:17-trixie"
MAJOR = "17"
PASSWORD = "right-horse-battery"  # noqa: S105 (a throwaway database's)
APP = {"POSTGRES_PASSWORD": PASSWORD, "POSTGRES_USER": "app", "POSTGRES_DB": "app"}
DATA = "/var/lib/postgresql/data"
# initdb, the set-up server, the server: seconds on 2 busy cores, with a margin.
READY_SECONDS = 120
UNINITIALIZED = "Error: Database is uninitialized and superuser password is not specified."


class Scratch:
    """The containers, volumes and networks one check makes, each named before it exists, so
    that remove() removes whatever was made."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def name(self, kind: str) -> str:
        name = f"{NAME}-pgcheck-{uuid.uuid4().hex[:10]}"
        self.made.append((kind, name))
        return name

    def network(self) -> str:
        name = self.name("network")
        engine.docker("network", "create", name)
        return name

    def volume(self) -> str:
        name = self.name("volume")
        engine.docker("volume", "create", name)
        return name

    def remove(self) -> None:
        for kind, name in reversed(self.made):
            if kind == "container":
                engine.remove_container(name)  # with its anonymous data volume
            else:
                engine.docker(kind, "rm", name, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    """The image to run for OFFICIAL (the stand-in is made the first time: minutes)."""
    try:
        return base_images.image_to_run(OFFICIAL)
    except engine.ImageToolError as error:
        pytest.fail(str(error))


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    made = Scratch()
    try:
        yield made
    finally:
        made.remove()


def _env(settings: dict[str, str]) -> list[str]:
    return [arg for key, value in settings.items() for arg in ("--env", f"{key}={value}")]


def _start(
    scratch: Scratch,
    image: str,
    settings: dict[str, str],
    *,
    network: str | None = None,
    volume: str | None = None,
    initdb: dict[str, tuple[str, int]] | None = None,
) -> str:
    """A database container, started, on ``network`` as host `db` (none: no network; the
    checks reach it with `docker exec`); ``initdb``: file name -> (text, mode) copied into
    /docker-entrypoint-initdb.d/ before it starts."""
    name = scratch.name("container")
    where = ["--network", network, "--network-alias", "db"] if network else ["--network=none"]
    where += ["--volume", f"{volume}:{DATA}"] if volume else []
    engine.docker("create", "--name", name, *where, *_env(settings), image)
    if initdb:
        with tempfile.TemporaryDirectory() as folder:
            Path(folder).chmod(0o755)  # docker cp gives the folder's mode to the target
            for file, (text, mode) in initdb.items():
                (Path(folder) / file).write_text(text)
                (Path(folder) / file).chmod(mode)
            engine.docker("cp", f"{folder}/.", f"{name}:/docker-entrypoint-initdb.d/")
    engine.docker("start", name)
    return name


def _logs(container: str) -> str:
    done = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
    return done.stdout + done.stderr


def _wait_ready(container: str, user: str = "app", database: str = "app") -> None:
    """Until the server answers over TCP. The set-up server of the first start listens on the
    socket only (docker_temp_server_start: listen_addresses=''), so the documented health check
    (on the socket) can pass during set-up; over TCP only the real server answers."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        running = engine.docker("inspect", "--format", "{{.State.Running}}", container).strip()
        assert running == "true", f"{container} stopped:\n{_logs(container)[-3000:]}"
        probe = ["pg_isready", "--host=127.0.0.1", "-U", user, "-d", database]
        answered = subprocess.run(["docker", "exec", container, *probe], capture_output=True)
        if answered.returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"{container} not ready in {READY_SECONDS} s:\n{_logs(container)[-3000:]}")


def _sql(container: str, query: str, user: str = "app", database: str = "app") -> str:
    """``query`` through psql inside the container, on its socket; its rows, unaligned."""
    psql = ["psql", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", database, "-tAc", query]
    return engine.docker("exec", container, *psql).strip()


def _psql_over_tcp(
    image: str, network: str, password: str | None, query: str = "select 1"
) -> subprocess.CompletedProcess:
    """psql in a second container of the same image, to host `db` over the network."""
    settings = {"PGPASSWORD": password} if password is not None else {}
    command = ["docker", "run", "--rm", "--network", network, *_env(settings), image]
    psql = ["psql", "-w", "-h", "db", "-U", "app", "-d", "app", "-tAc", query]
    return subprocess.run([*command, *psql], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def served(image: str) -> Iterator[tuple[str, str]]:
    """One database started with POSTGRES_PASSWORD, _USER and _DB on a private network, ready:
    (container, network). Removed with the network at the module's end."""
    made = Scratch()
    try:
        network = made.network()
        container = _start(made, image, APP, network=network)
        _wait_ready(container)
        yield container, network
    finally:
        made.remove()


def test_the_standin_has_a_name_of_its_own_and_trixies_major() -> None:
    """Never tagged with the official name (offline/standins.py, REGISTRY); only the major
    trixie ships."""
    standin = standins.standin_for(OFFICIAL)
    assert standin.name.startswith(f"{standins.REGISTRY}/postgres:{MAJOR}-trixie-r"), standin
    with pytest.raises(standins.StandinError, match="trixie has PostgreSQL 17"):
        standins.standin_for("postgres:16-trixie")


def test_the_image_is_configured_as_the_official_one(image: str) -> None:
    """`ENV PATH $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`, `ENV PGDATA`, `VOLUME
    /var/lib/postgresql/data`, `ENTRYPOINT ["docker-entrypoint.sh"]`, `STOPSIGNAL SIGINT`,
    `EXPOSE 5432`, `CMD ["postgres"]`; no USER: the entrypoint starts as root and steps down
    (gosu), so it can hand a new volume or bind mount to postgres."""
    config = engine.inspect(image)["Config"]
    env = dict(line.split("=", 1) for line in config["Env"])
    assert f"/usr/lib/postgresql/{MAJOR}/bin" in env["PATH"].split(":"), env["PATH"]
    assert env["PGDATA"] == DATA, env
    assert env["PG_MAJOR"] == MAJOR, env
    assert env["LANG"] == "en_US.utf8", env
    assert set(config["Volumes"] or {}) == {DATA}, config["Volumes"]
    assert config["Entrypoint"] == ["docker-entrypoint.sh"], config["Entrypoint"]
    assert config["Cmd"] == ["postgres"], config["Cmd"]
    assert config["StopSignal"] == "SIGINT", config.get("StopSignal")
    assert set(config["ExposedPorts"]) == {"5432/tcp"}, config["ExposedPorts"]
    assert not config["User"], config["User"]


def test_a_client_connects_over_the_network_with_the_password(
    image: str, served: tuple[str, str]
) -> None:
    """POSTGRES_USER and POSTGRES_DB made at the first start (docker_setup_db), the server on
    every address (listen_addresses = '*' in the sample configuration), pg_isready on PATH for
    the documented health check."""
    container, network = served
    who = "select current_user || '|' || current_database()"
    done = _psql_over_tcp(image, network, PASSWORD, who)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "app|app"
    health = ["pg_isready", "-U", "app", "-d", "app"]
    assert subprocess.run(["docker", "exec", container, *health]).returncode == 0
    assert _sql(container, "show listen_addresses") == "*"


def test_a_wrong_or_missing_password_is_refused_over_the_network(
    image: str, served: tuple[str, str]
) -> None:
    """`host all all all scram-sha-256` (pg_setup_hba_conf, from password_encryption): no trust
    for other hosts."""
    container, network = served
    wrong = _psql_over_tcp(image, network, "not-" + PASSWORD)
    assert wrong.returncode != 0
    assert 'password authentication failed for user "app"' in wrong.stderr, wrong.stderr
    missing = _psql_over_tcp(image, network, None)
    assert missing.returncode != 0
    assert "no password supplied" in missing.stderr, missing.stderr
    rules = _sql(container, "select auth_method from pg_hba_file_rules where address = 'all'")
    assert rules == "scram-sha-256"


def test_the_server_runs_as_postgres_uid_999(served: tuple[str, str]) -> None:
    """`groupadd -r postgres --gid=999`, `useradd ... --uid=999`; `exec gosu postgres`, then
    `exec "$@"`: the server is PID 1, as postgres."""
    container, _ = served
    status = engine.docker("exec", container, "cat", "/proc/1/status")
    ids = {line.split(":")[0]: line.split()[1:] for line in status.splitlines()[:10]}
    assert ids["Uid"] == ["999"] * 4, ids["Uid"]
    assert ids["Gid"] == ["999"] * 4, ids["Gid"]
    assert engine.docker("exec", container, "cat", "/proc/1/comm").strip() == "postgres"


def test_without_a_password_the_first_start_fails_with_the_official_words(
    image: str, scratch: Scratch
) -> None:
    """docker_verify_minimum_env: `exit 1` with its message when POSTGRES_PASSWORD is empty
    and POSTGRES_HOST_AUTH_METHOD is not trust."""
    name = scratch.name("container")
    done = subprocess.run(
        ["docker", "run", "--name", name, "--network=none", image],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert UNINITIALIZED in done.stderr, done.stderr[-2000:]
    assert 'use "POSTGRES_HOST_AUTH_METHOD=trust"' in done.stderr


def test_data_survives_a_restart_on_a_named_volume(image: str, scratch: Scratch) -> None:
    """An initialised PGDATA (its PG_VERSION) is used as it is: no set-up, no password needed,
    the first one still valid; SIGINT (STOPSIGNAL) stops the server cleanly."""
    volume, network = scratch.volume(), scratch.network()
    first = _start(scratch, image, APP, network=network, volume=volume)
    _wait_ready(first)
    _sql(first, "create table kept (what text); insert into kept values ('before')")
    engine.docker("stop", "--time", "60", first)
    exit_code = engine.docker("inspect", "--format", "{{.State.ExitCode}}", first).strip()
    assert exit_code == "0", _logs(first)[-2000:]
    engine.remove_container(first)
    second = _start(scratch, image, {}, network=network, volume=volume)
    _wait_ready(second)
    assert _sql(second, "select what from kept") == "before"
    assert "appears to contain a database; Skipping initialization" in _logs(second)
    assert _psql_over_tcp(image, network, PASSWORD).returncode == 0


def test_initdb_scripts_run_once_in_the_users_database(image: str, scratch: Scratch) -> None:
    """docker_process_init_files on the first start only: *.sql through psql, *.sh run when
    executable and sourced otherwise (with docker_process_sql), other files ignored; in
    POSTGRES_DB, which defaults to POSTGRES_USER."""
    scripts = {
        "10-table.sql": ("create table seen (what text); insert into seen values ('sql');", 0o644),
        "20-run.sh": (
            "#!/bin/sh\nset -e\n"
            'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
            " -c \"insert into seen values ('run')\"\n",
            0o755,
        ),
        "30-sourced.sh": ("docker_process_sql -c \"insert into seen values ('sourced')\"\n", 0o644),
        "40-notes.txt": ("not a script\n", 0o644),
    }
    settings = {"POSTGRES_PASSWORD": PASSWORD, "POSTGRES_USER": "owner"}
    volume = scratch.volume()
    first = _start(scratch, image, settings, volume=volume, initdb=scripts)
    _wait_ready(first, "owner", "owner")
    rows = "select string_agg(what, ',' order by what) from seen"
    assert _sql(first, rows, "owner", "owner") == "run,sourced,sql", _logs(first)[-3000:]
    assert "ignoring /docker-entrypoint-initdb.d/40-notes.txt" in _logs(first)
    engine.docker("stop", "--time", "60", first)
    engine.remove_container(first)
    second = _start(scratch, image, settings, volume=volume, initdb=scripts)
    _wait_ready(second, "owner", "owner")
    assert _sql(second, rows, "owner", "owner") == "run,sourced,sql"
    assert "/docker-entrypoint-initdb.d/" not in _logs(second), _logs(second)[-3000:]
