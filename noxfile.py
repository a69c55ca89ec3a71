"""Sessions. The kernel a cloner keeps: lint, unit, build, test, up, compose, kubernetes, rename,
reproducible, clients. Each other room, when present, adds to them or brings its own (README,
"Layout"): the demonstration (demonstration/) adds the bad baseline to lint, build and test
(lists it, not run, in reproducible and clients, and brings their controls); the adoption proofs
(tests/adoption/) bring `adoption`; the lab (lab/) brings multiarch, publish, verify,
supply_chain, bench, startup, cold_builds, steps and journey; the docs (docs/) bring `docs`.
Removing a room removes what it adds.

Each session is its own recipe: it syncs the dependency groups it needs (pyproject.toml), then
runs pytest or a tool of tools/ as ``python -m tools.NAME`` (each with its own --help). A tool
that cannot go on says why in one line and exits 1.
"""

import sys
from pathlib import Path

import nox

# tools/ and lab/, beside this file, are packages of the project root.
sys.path.insert(0, str(Path(__file__).parent))
from tools import project
from tools.sessions import sync

ROOT = Path(__file__).parent
# The demonstration, optional: `rm -r demonstration Dockerfile.baseline*` removes it.
DEMONSTRATION = (ROOT / "demonstration").is_dir()
# With it, the contract's checks also run on the baseline (its pytest plugin).
DEMONSTRATED = ["-p", "demonstration.plugin"] if DEMONSTRATION else []
# The service's own feature checks, on its images (a service may have none).
FEATURES = Path("tests/features")
# The offline support, optional: its stand-ins are checked against the official images' facts
# (offline/test_*.py: the bases, and the database image run beside the service).
STANDINS = Path("offline")
# The image checks mostly wait on the engine (containers starting, stopping, probed): two
# pytest-xdist workers, an image's checks of one module in one of them, which alone makes
# what they share (tests/contract/conftest.py, parametrize_images).
PARALLEL = ["--numprocesses=2", "--dist=loadgroup"]
# The service's unit tests, its seam's and the tools'.
UNIT = ["tests/unit", "tests/seam", "tests/tools"]
# The sessions that passed in this nox run, whole (no posargs): `nox -s unit test` runs the unit
# tests once.
PASSED: set[str] = set()

nox.options.sessions = ["lint", "unit"]
nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True


def tool(session: nox.Session, name: str, *args: str) -> None:
    """``python -m tools.NAME ARGS``: in the session's venv, or nox's own Python without one."""
    python = "python" if session.venv_backend != "none" else sys.executable
    session.run(python, "-m", f"tools.{name}", *args, external=session.venv_backend == "none")


@nox.session(python="3.13")
def lint(session: nox.Session) -> None:
    """The pre-commit hooks (ruff, hadolint, shellcheck, the CI files, zizmor, the manifests);
    checkov; the baseline's findings too."""
    sync(session, "lint")
    # .pre-commit-config.yaml: the engine-free linters, each with the files it checks. Its
    # --all-files are the files git tracks: new ones, not yet added, are checked after them.
    # No --show-diff-on-failure: no hook writes a file, so it would only print the work tree's
    # own uncommitted changes, as "changes made by hooks".
    hooks = ["pre-commit", "run"]
    session.run(*hooks, "--all-files")
    if new := project.new_files():
        session.run(*hooks, "--files", *new)
    # Then what is no hook: checkov, which runs in an environment of its own
    # (tools/checkov-requirements.txt says why) and is judged on its JSON report, not on its
    # exit code; the controls (a broken Deployment that kubernetes-validate and checkov must
    # reject); the baseline's findings, compared with the demonstration's table.
    tool(session, "lint")
    if DEMONSTRATION:
        session.run("python", "-m", "demonstration.lint")


@nox.session(python="3.13")
def unit(session: nox.Session) -> None:
    """The service's own tests, its seam to the image checks, the tools' tests; no Docker."""
    sync(session, "test")
    session.run("pytest", *UNIT, *session.posargs)
    if not session.posargs:
        PASSED.add("unit")


@nox.session(python="3.13")
def build(session: nox.Session) -> None:
    """Build the service's images (and the demonstration's, when present): size, build time."""
    sync(session, "images")  # dive, which measures the sizes
    tool(session, "build", *session.posargs)
    if DEMONSTRATION:
        session.run("python", "-m", "demonstration.build")


@nox.session(python="3.13")
def test(session: nox.Session) -> None:
    """Unit tests (unless `unit` passed in this run), then the image contract and the
    service's features on the built images."""
    tool(session, "build", "--check")  # before installing anything: no engine, no images
    if DEMONSTRATION:
        session.run(sys.executable, "-m", "demonstration.build", "--check", external=True)
    sync(session, "test", "images")
    present = [str(path) for path in (FEATURES, STANDINS) if path.exists()]
    demonstration = [*DEMONSTRATED, "demonstration"] if DEMONSTRATION else []
    unit_tests = [] if "unit" in PASSED else UNIT
    if not unit_tests:
        session.log("the unit tests passed in this run's `unit` session: not run again")
    session.run(
        "pytest", *unit_tests, "tests/contract", *present,
        "--ignore=tests/contract/reproducible", "--ignore=tests/contract/clients",
        "--ignore=demonstration/clients", *demonstration, *PARALLEL, *session.posargs,
    )  # fmt: skip


@nox.session(venv_backend="none")
def up(session: nox.Session) -> None:
    """Build the optimized image and run it on http://127.0.0.1:8000 (`-- PORT` for another)."""
    tool(session, "build", "--serve", *(session.posargs or ["8000"]))


@nox.session(python="3.13")
def compose(session: nox.Session) -> None:
    """compose.yaml: locked-down `up --wait`, the watch dev loop, unit tests in the dev image."""
    sync(session, "test", "images")
    # The stand-ins and CA bundle of this machine, in an override file the tests add.
    tool(session, "compose")
    session.run("pytest", "tests/compose", *session.posargs)


@nox.session(python="3.13")
def kubernetes(session: nox.Session) -> None:
    """deploy/kubernetes with the service's profile, written to build/kubernetes for `kubectl
    apply -f` (`-- --image IMAGE@sha256:...`: the image it runs); the commands that create its
    Secrets."""
    sync(session, "lint")  # pyyaml, with the manifests' validator that lint runs on them
    tool(session, "kubernetes", *session.posargs)


@nox.session(python="3.13")
def rename(session: nox.Session) -> None:
    """Adopt the project under your own name: `nox -s rename -- NEWNAME`."""
    sync(session, "lint")  # ruff, which formats what the rename rewrote as lint wants it
    tool(session, "rename", *session.posargs)


@nox.session(python="3.13")
def reproducible(session: nox.Session) -> None:
    """Two builds of each image without cache: each gives the same filesystem twice."""
    tool(session, "build", "--check")
    sync(session, "test", "images")
    session.run("pytest", "tests/contract/reproducible", *DEMONSTRATED, *session.posargs)


@nox.session(python="3.13")
def clients(session: nox.Session) -> None:
    """Clients that wait: a connection reused after a minute idle, a body sent a byte at a time,
    writes through nginx's upstream keepalive pool (Debian's nginx-light); with the
    demonstration's controls, each guard turned off."""
    tool(session, "build", "--check")
    sync(session, "test", "images")
    controls = ["demonstration/clients"] if DEMONSTRATION else []
    # One process: its observations already run at once, from the session's start (conftest.py).
    session.run("pytest", "tests/contract/clients", *DEMONSTRATED, *controls, *session.posargs)


if (ROOT / "tests" / "adoption").is_dir():  # the adoption proofs, optional: `rm -r tests/adoption`

    @nox.session(python="3.13")
    def adoption(session: nox.Session) -> None:
        """In copies without the other rooms: rename, lint, unit, build, serve; then services of
        other shapes (tests/adoption/*/) in place of this one: lint, unit, build, test, clients,
        compose."""
        sync(session, "test", "images")
        session.run("pytest", "tests/adoption", *session.posargs)


# The lab, optional: delete lab/ and its sessions go with it (README, "Layout"). Only its own
# absence is quiet: a module missing inside it still fails.
try:
    import lab.sessions  # noqa: F401  (multiarch, publish, verify, supply_chain, bench, ...)
except ModuleNotFoundError as missing:
    if missing.name != "lab":
        raise

# The documentation site, optional too: `rm -r docs mkdocs.yml` removes it and `nox -s docs`.
try:
    import docs.sessions  # noqa: F401  (docs)
except ModuleNotFoundError as missing:
    if missing.name != "docs":
        raise
