"""What the noxfile's sessions do, kept here so the noxfile reads as a table of contents."""

import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nox

from tools import compose as compose_tool
from tools import images, platforms, project, publish, report
from tools import rename as rename_project
from tools.project import ROOT

# What `nox -s multiarch` builds: the platforms of the official base images this project uses.
MULTIARCH_PLATFORMS = ("linux/amd64", "linux/arm64")
# Cold builds are noisy (network, disk): the README reports the median of this many.
COLD_RUNS = 3


def sync(session: nox.Session) -> None:
    """Install the locked dependencies (dev group included) into the session's venv."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
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
    except images.ImageToolError as error:
        session.error(str(error))


def require_images(session: nox.Session) -> None:
    with clear_errors(session):
        images.require_engine()
        images.require_free_space()
        images.require_built(*images.IMAGES)


def build_images(session: nox.Session) -> None:
    """Build every image; with ``-- --record``, cold builds measured into the README; with
    ``-- --platform linux/amd64,linux/arm64``, the optimized image for those platforms."""
    record = "--record" in session.posargs
    if wanted := platform_option(session):
        build_platforms(session, wanted, record=record)
        return
    with clear_errors(session):
        engine = images.require_engine()
        images.require_free_space()
        mode, bases = images.resolve_base_images()
        images.record_bases(mode, bases, engine)
        runs = COLD_RUNS if record else 1
        seconds = {image.tag: [] for image in images.IMAGES}
        for run in range(runs):
            for image in images.IMAGES:
                if record:
                    session.log(f"cold build {run + 1}/{runs} of {image.tag}")
                built = images.build(image, bases, no_cache=record, quiet=record)
                seconds[image.tag].append(built.seconds)
        images.write_sbom(images.SBOM)
        table = results_table(seconds, bases, cold=record)
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    setup = f"Docker engine {engine}; base images ({mode}): {used}; {report.machine()}"
    print(f"{setup}\n\n{table}")
    session.log(f"SBOM of {images.OPTIMIZED.tag}: {images.SBOM.relative_to(ROOT)}")
    if record:
        measured = f"Measured by `nox -s build -- --record` on {report.today()}. {setup}."
        report.replace_section("build-results", f"{measured}\n\n{table}")
        session.log("README.md updated with these results")


def platform_option(session: nox.Session) -> str:
    """The value of ``--platform X`` or ``--platform=X`` among the session's arguments."""
    arguments = iter(session.posargs)
    for argument in arguments:
        if argument == "--platform":
            return next(arguments, "") or session.error("--platform needs a value")
        if argument.startswith("--platform="):
            return argument.split("=", 1)[1]
    return ""


def build_platforms(session: nox.Session, wanted: str, *, record: bool = False) -> None:
    """The optimized image for each platform; its size, layers and build time, emulated or not.
    With ``record``, cold builds measured into the README (*Two architectures*)."""
    with clear_errors(session):
        engine = images.require_engine()
        runs = COLD_RUNS if record else 1
        seconds: dict[str, list[float]] = {}
        for run in range(runs):
            if record:
                session.log(f"cold build {run + 1}/{runs} for {wanted}")
            built = platforms.build_platforms(
                images.OPTIMIZED, platforms.parse(wanted), no_cache=record, quiet=record
            )
            for b in built:
                seconds.setdefault(b.platform, []).append(b.seconds)
        table = platforms_table(built, seconds, cold=record)
        store = platforms.store_name()
        store += " (one image index)" if store == "containerd" else ""
    used = "; ".join(f"{b.platform} on {b.base}" for b in built)
    mode = "official" if {b.base for b in built} == {images.OPTIMIZED.runtime_base()} else "standin"
    setup = (
        f"Docker engine {engine}, {store} image store; runtime base ({mode}): {used}; "
        f"{report.machine()}"
    )
    print(f"{setup}\n\n{table}")
    if record:
        command = f"nox -s build -- --platform {wanted} --record"
        measured = f"Measured by `{command}` on {report.today()}."
        report.replace_section("platform-results", f"{measured} {setup}.\n\n{table}")
        session.log("README.md updated with these results")


def platforms_table(
    built: list[platforms.Built], seconds: dict[str, list[float]], cold: bool
) -> str:
    """Per platform: size, layers, what the Dockerfile adds to its base, median build time."""
    kind = f"cold build, median of {len(seconds[built[0].platform])}" if cold else "build time"
    lines = [
        f"| platform | image | unpacked | layers | added to the base | {kind} |",
        "|---|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        # An official base may be in BuildKit's cache only, not among the engine's images.
        bases = {b.base for b in built if images.image_exists(b.base)}
        saved = {
            ref: platforms.saved_platforms(ref, Path(folder))
            for ref in {b.ref for b in built} | bases
        }
    sizes = {}
    for b in built:
        image = saved[b.ref][b.platform]
        base = saved.get(b.base, {}).get(b.platform)
        # The base's layers come first, unchanged; the Dockerfile's own follow.
        added = sum(image.layer_sizes[base.layers :]) if base else None
        sizes[b.platform] = (image.unpacked, added)
        lines.append(
            f"| {b.platform} | `{b.ref}` | {images.megabytes(image.unpacked)} | {image.layers} "
            f"| {images.megabytes(added) if added is not None else 'n/a'} "
            f"| {statistics.median(seconds[b.platform]):.1f} s"
            f"{', emulated' if b.emulated else ''} |"
        )
    notes = []
    if len(built) == 2:
        (first, (size_a, added_a)), (second, (size_b, added_b)) = sizes.items()
        notes.append(
            f"{second} is {images.megabytes(abs(size_b - size_a))} "
            f"{'bigger' if size_b >= size_a else 'smaller'} than {first} unpacked"
            + (
                f"; what the Dockerfile adds to the base differs by "
                f"{images.megabytes(abs(added_b - added_a))}."
                if added_a is not None and added_b is not None
                else "."
            )
        )
    if any(b.emulated for b in built):
        notes.append("Emulated build times are what qemu takes on this machine, not native ones.")
    if notes:
        lines.append("\n" + " ".join(notes))
    return "\n".join(lines)


def multiarch(session: nox.Session) -> None:
    """Build for both platforms, then prove the arm64 image under emulation; time each part."""
    started = time.perf_counter()
    build_platforms(session, ",".join(MULTIARCH_PLATFORMS))
    built = time.perf_counter()
    sync(session)
    session.run("pytest", "tests/multiarch", *session.posargs)
    session.log(
        f"multiarch: build of both platforms {built - started:.0f} s, arm64 checks "
        f"{time.perf_counter() - built:.0f} s (emulated where the machine is not arm64)"
    )


def results_table(seconds: dict[str, list[float]], bases: dict[str, str], cold: bool) -> str:
    """Sizes, layers, what each Dockerfile adds to its runtime base, median build time per
    image, and the baseline/optimized ratios.

    Cold builds use --no-cache: every layer is rebuilt, but uv's download cache (a cache mount)
    stays warm; nothing of the builder's cache is pruned, so other projects keep theirs.
    Compressed sizes (gzip of every layer) take a minute for the baseline: only when recording.
    """
    runs = len(next(iter(seconds.values())))
    kind = f"cold build, median of {runs}" if cold else "build time (layer cache as found)"
    packed = " compressed |" if cold else ""
    lines = [
        f"| image | unpacked |{packed} layers | its runtime base | added to it | {kind} |",
        "|---|---:|" + "---:|" * (2 if cold else 1) + "---|---:|---:|",
    ]
    sizes = {tag: images.image_size(tag, compressed=cold) for tag in seconds}
    for image in images.IMAGES:
        tag = image.tag
        size = sizes[tag]
        compressed = f" {images.megabytes(size.compressed)} |" if cold else ""
        layers = len(images.inspect(tag)["RootFS"]["Layers"])
        base = bases[image.runtime_base()]
        under = images.base_size(tag, base)
        added = images.megabytes(size.unpacked - under) if under is not None else "n/a"
        lines.append(
            f"| `{tag}` | {images.megabytes(size.unpacked)} |{compressed} {layers} "
            f"| `{base}` | {added} | {statistics.median(seconds[tag]):.1f} s |"
        )
    baseline, optimized = images.BASELINE.tag, images.OPTIMIZED.tag
    size_ratio = sizes[baseline].unpacked / sizes[optimized].unpacked
    time_ratio = statistics.median(
        b / o for b, o in zip(seconds[baseline], seconds[optimized], strict=True)
    )
    lines.append(
        f"\nThe optimized image is {size_ratio:.1f}x smaller than the baseline unpacked"
        + (
            f", {sizes[baseline].compressed / sizes[optimized].compressed:.1f}x compressed,"
            if cold
            else ""
        )
        + f" and builds {time_ratio:.1f}x faster (median of the per-run ratios)."
    )
    minimal, optimized_size = images.MINIMAL.tag, sizes[optimized]
    if minimal in sizes:
        saved = optimized_size.unpacked - sizes[minimal].unpacked
        lines[-1] += f" The minimal image is {images.megabytes(saved)} smaller than the optimized"
        if cold:
            packed = optimized_size.compressed - sizes[minimal].compressed
            lines[-1] += f" unpacked, {images.megabytes(packed)} compressed."
        else:
            lines[-1] += " unpacked."
    return "\n".join(lines)


def serve(session: nox.Session) -> None:
    """Build the optimized image and run it detached on port 8000, its data on a named volume."""
    port = session.posargs[0] if session.posargs else "8000"
    with clear_errors(session):
        images.require_engine()
        bases = images.resolve_base_images((images.OPTIMIZED,))[1]
        images.build(images.OPTIMIZED, bases)
        name = images.OPTIMIZED.tag.split(":")[0]
        images.remove_container(name)
        images.docker(
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
        images.require_engine()
        session.log(f"Docker Compose {compose_tool.require_compose()}")
        bases = images.resolve_base_images((images.OPTIMIZED,))[1]
        override = compose_tool.write_override(bases)
    session.log(f"build settings for this machine: {override.relative_to(ROOT)}")
    sync(session)
    session.run("pytest", "tests/compose", *session.posargs)


def publish_image(session: nox.Session) -> None:
    """`nox -s publish`; the tool ends with one line saying what to do when it cannot."""
    sync(session)
    session.run("python", "-m", "tools.publish", *session.posargs)


def verify(session: nox.Session) -> None:
    if len(session.posargs) != 1:
        session.error("give one image: nox -s verify -- REGISTRY/NAME@sha256:...")
    sync(session)
    session.run("python", "-m", "tools.publish", "verify", *session.posargs)


def supply_chain(session: nox.Session) -> None:
    with clear_errors(session):
        images.require_engine()
        publish.require_containerd_store()
    sync(session)
    session.run("pytest", "tests/publish", "-s", *session.posargs)
