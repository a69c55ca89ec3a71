"""What the kernel's longer sessions do; the noxfile names them. Nothing here knows of lab/."""

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import nox

from tools import base_images, engine, images, layer_sizes, platforms, project, publish
from tools import compose as compose_tool
from tools import rename as rename_project
from tools.project import ROOT

# What `nox -s multiarch` builds: the platforms of the official base images this project uses.
MULTIARCH_PLATFORMS = ("linux/amd64", "linux/arm64")


def sync(session: nox.Session, *groups: str) -> None:
    """Install the project and only the named dependency groups of pyproject.toml (``test``,
    ``images``, ``lint``, ``lab``) into the session's venv, from uv.lock."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--no-default-groups",
        *(f"--group={group}" for group in groups),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


# What the baseline must be flagged for: an untagged base (DL3006) or `latest` (DL3007), and
# apt without --no-install-recommends (DL3015). hadolint can see the first only in a literal FROM.
BASELINE_FINDINGS = (("DL3006", "DL3007"), ("DL3015",))


def expect_hadolint_findings(session: nox.Session, dockerfile: str) -> None:
    """The baseline is bad on purpose: show its findings; fail if an expected one is missing."""
    found = subprocess.run(
        [f"{session.bin}/hadolint", "--no-fail", "--no-color", dockerfile],
        capture_output=True,
        text=True,
    ).stdout.strip()
    missing = [
        " or ".join(rules) for rules in BASELINE_FINDINGS if not any(r in found for r in rules)
    ]
    if missing:
        session.error(f"hadolint no longer reports {', '.join(missing)} on {dockerfile}:\n{found}")
    session.log(f"{dockerfile} is bad on purpose; hadolint's expected findings:\n{found}")


def validate_github_files(session: nox.Session) -> None:
    """Check the workflow and Dependabot files against their schemas (vendored, offline).

    actionlint would check more, but its PyPI package downloads its binary at install time,
    which fails where only PyPI is reachable.
    """
    session.run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        ".github/workflows/ci.yml",
    )
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"
    )


def lint_ci_files(session: nox.Session) -> None:
    """zizmor on the GitHub files (offline: no API calls), shellcheck on every shell script."""
    session.run("zizmor", "--offline", "--no-progress", ".github/")
    scripts = shell_scripts()
    if scripts:
        session.run("shellcheck", "--external-sources", *scripts)


def shell_scripts() -> list[str]:
    """Every project file (tracked, or new and not ignored) that starts with a shell's #! line."""
    scripts = []
    for name in project.files():
        with (ROOT / name).open("rb") as file:
            if re.match(rb"#!\S*(/|env )(ba|da|k)?sh\b", file.readline()):
                scripts.append(name)
    return scripts


@contextmanager
def clear_errors(session: nox.Session) -> Iterator[None]:
    """End the session with the tool's one-line message instead of a traceback."""
    try:
        yield
    except engine.ImageToolError as error:
        session.error(str(error))


def require_images(session: nox.Session) -> None:
    """End the session with one line when the engine, its free space or an image is missing."""
    with clear_errors(session):
        engine.require_engine()
        engine.require_free_space()
        images.require_built(*images.IMAGES)


def build_images(session: nox.Session) -> None:
    """Build every image once, each one's size, layers and build time printed; with
    ``-- --platform linux/amd64,linux/arm64``, the optimized image for those platforms."""
    if wanted := platform_option(session):
        build_platforms(session, wanted)
        return
    with clear_errors(session):
        engine_version = engine.require_engine()
        engine.require_free_space()
        mode, bases = base_images.resolve()
        base_images.write_used(mode, bases, engine_version)
        for image in images.IMAGES:
            built = images.build(image, bases)
            size = layer_sizes.image_size(image.tag).unpacked
            layers = len(engine.inspect(image.tag)["RootFS"]["Layers"])
            session.log(
                f"{image.tag}: {layer_sizes.megabytes(size)} unpacked, {layers} layers, built in "
                f"{built.seconds:.1f} s on {bases[image.runtime_base()]}"
            )
        images.write_sbom(images.SBOM)
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    session.log(f"Docker engine {engine_version}; base images ({mode}): {used}")
    session.log(f"SBOM of {images.OPTIMIZED.tag}: {images.SBOM.relative_to(ROOT)}")


def platform_option(session: nox.Session) -> str:
    """The value of ``--platform X`` or ``--platform=X``, the only argument build takes."""
    arguments, wanted = iter(session.posargs), ""
    for argument in arguments:
        if argument == "--platform":
            wanted = next(arguments, "") or session.error("--platform needs a value")
        elif argument.startswith("--platform="):
            wanted = argument.split("=", 1)[1]
        else:
            session.error(f"unknown argument {argument!r}: nox -s build [-- --platform P1,P2]")
    return wanted


def build_platforms(session: nox.Session, wanted: str) -> None:
    """The optimized image for each platform: its tag, base and build time, emulated or not."""
    with clear_errors(session):
        engine.require_engine()
        for b in platforms.build_platforms(images.OPTIMIZED, platforms.parse(wanted)):
            emulated = ", emulated" if b.emulated else ""
            session.log(f"{b.platform}: {b.ref} on {b.base}, built in {b.seconds:.1f} s{emulated}")
        session.log(f"{platforms.store_name()} image store")


def multiarch(session: nox.Session) -> None:
    """Build for both platforms, then prove the arm64 image under emulation; time each part."""
    started = time.perf_counter()
    build_platforms(session, ",".join(MULTIARCH_PLATFORMS))
    built = time.perf_counter()
    sync(session, "test", "images")
    session.run("pytest", "tests/multiarch", *session.posargs)
    session.log(
        f"multiarch: build of both platforms {built - started:.0f} s, arm64 checks "
        f"{time.perf_counter() - built:.0f} s (emulated where the machine is not arm64)"
    )


def serve(session: nox.Session) -> None:
    """Build the optimized image and run it detached on port 8000, its data on a named volume."""
    port = session.posargs[0] if session.posargs else "8000"
    with clear_errors(session):
        engine.require_engine()
        bases = base_images.resolve((images.OPTIMIZED,))[1]
        images.build(images.OPTIMIZED, bases)
        name = images.OPTIMIZED.tag.split(":")[0]
        engine.remove_container(name)
        engine.docker(
            "run",
            "--detach",
            "--name",
            name,
            "--publish",
            f"127.0.0.1:{port}:8000",
            "--volume",
            f"{name}-data:/data",
            images.OPTIMIZED.tag,
        )
    session.log(
        f"{images.OPTIMIZED.tag} runs as container {name}: "
        f"http://127.0.0.1:{port}{project.HEALTH_PATH}; "
        f"logs: docker logs -f {name}; stop: docker rm -f {name} (data stays in volume {name}-data)"
    )


def rename(session: nox.Session) -> None:
    """Rename the project (``nox -s rename -- NEWNAME``); a refused name changes nothing."""
    if len(session.posargs) != 1:
        session.error("give exactly one new name: nox -s rename -- NEWNAME (e.g. acmelinks)")
    try:
        for change in rename_project.rename(session.posargs[0]):
            session.log(change)
    except rename_project.RenameError as error:
        session.error(str(error))
    session.log("renamed; next: nox -s build test")


def compose(session: nox.Session) -> None:
    """Prove compose.yaml: the stand-ins and CA bundle of this machine in an override, then the
    tests, each on a Compose project of its own."""
    with clear_errors(session):
        engine.require_engine()
        session.log(f"Docker Compose {compose_tool.require_compose()}")
        bases = base_images.resolve((images.OPTIMIZED,))[1]
        override = compose_tool.write_override(bases)
    session.log(f"build settings for this machine: {override.relative_to(ROOT)}")
    sync(session, "test", "images")
    session.run("pytest", "tests/compose", *session.posargs)


def supply_chain(session: nox.Session) -> None:
    """The publish tests, which need the containerd image store."""
    with clear_errors(session):
        engine.require_engine()
        publish.require_containerd_store()
    sync(session, "test", "images")
    session.run("pytest", "tests/publish", "-s", *session.posargs)
