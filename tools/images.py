"""The project's images: their Dockerfiles, what their FROM lines name, how `nox -s build`
builds them (build args, stand-in bases as named contexts, build secrets) and the SBOM beside
them."""

import json
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tools.engine import ImageToolError, docker, image_exists, image_id
from tools.profile import profile
from tools.project import DESCRIPTION, NAME, ROOT, VERSION

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_DIR = ROOT / "build"
# Written by `nox -s build` next to the image: the optimized image's bill of materials.
SBOM = BUILD_DIR / "sbom" / f"{NAME}-optimized.cdx.json"
# The build args that carry the service profile's Debian packages and build step
# (tools/profile.py).
PACKAGE_ARGS = {"BUILD_PACKAGES", "RUNTIME_PACKAGES", "BUILD_STEP"}
# `FROM [--platform=...] REF [AS STAGE]`
FROM_LINE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.MULTILINE | re.I)


@dataclass(frozen=True)
class Image:
    name: str
    tag: str
    dockerfile: str

    def declared_args(self, root: Path = ROOT) -> set[str]:
        """The names of the Dockerfile's ARGs (one ``ARG`` may declare several)."""
        lines = re.findall(r"^ARG\s+(.*)$", (root / self.dockerfile).read_text(), re.MULTILINE)
        return {word.split("=", 1)[0] for line in lines for word in shlex.split(line)}

    def from_lines(self, root: Path = ROOT) -> list[tuple[str, str]]:
        """(image, stage) of each FROM."""
        return FROM_LINE.findall((root / self.dockerfile).read_text())

    def runtime_base(self, root: Path = ROOT) -> str:
        """The image its last stage is built on, through any stage aliases (``FROM x AS y``)."""
        stages: dict[str, str] = {}
        ref = ""
        for ref, stage in self.from_lines(root):
            ref = stages.get(ref.lower(), ref)
            stages[stage.lower()] = ref
        return ref

    def base_images(self, root: Path = ROOT) -> list[str]:
        """The images its FROM lines name, as written (not its own stages, not scratch)."""
        stages, bases = {"scratch"}, []
        for ref, stage in self.from_lines(root):
            if ref.lower() not in stages and ref not in bases:
                bases.append(ref)
            stages.add(stage.lower())
        return bases


@dataclass(frozen=True)
class Build:
    """A finished build: its wall-clock seconds, and BuildKit's plain log ('' unless quiet)."""

    seconds: float
    log: str

    def cached(self, command: str) -> bool:
        """Whether the RUN step whose command contains ``command`` came from the layer cache."""
        steps = re.findall(r"^#(\d+) \[[^\]]*\] RUN (.*)$", self.log, re.MULTILINE)
        numbers = {number for number, text in steps if command in text}
        return bool(numbers) and all(
            re.search(rf"^#{number} CACHED$", self.log, re.MULTILINE) for number in numbers
        )


OPTIMIZED = Image("optimized", f"{NAME}:optimized", "Dockerfile")
# The step beyond the optimized image: the same venv and Python on a distroless runtime, no shell.
MINIMAL = Image("minimal", f"{NAME}:minimal", "Dockerfile.minimal")


# The dev loop's image, which compose.yaml builds: not shipped, but a Dockerfile of the kernel.
DEV_LOOP = Image("dev", f"{NAME}:dev", "dev.Dockerfile")


def shipped(root: Path = ROOT) -> tuple[Image, ...]:
    """The service's images whose Dockerfile is present: the optimized one always, the minimal
    one unless its Dockerfile was deleted (deleting it needs no other edit)."""
    return tuple(image for image in (OPTIMIZED, MINIMAL) if (root / image.dockerfile).is_file())


def require_built(*images: Image) -> None:
    """Raise ImageToolError, naming them, when any of ``images`` is not built."""
    missing = [image.tag for image in images if not image_exists(image.tag)]
    if missing:
        raise ImageToolError(f"image(s) {', '.join(missing)} not built: run `nox -s build` first")


def build_metadata(root: Path = ROOT) -> dict[str, str]:
    """The build args for the labels, by name: VERSION and DESCRIPTION (pyproject.toml),
    REVISION (the commit's SHA), CREATED (its date, ISO 8601), SOURCE_URL (the remote, no
    credentials), each "unknown" outside git; SOURCE_DATE_EPOCH (its Unix time) inside it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    metadata = {
        "VERSION": VERSION,
        "DESCRIPTION": DESCRIPTION,
        "REVISION": git("rev-parse", "HEAD") or "unknown",
        "CREATED": git("log", "-1", "--format=%cI") or "unknown",
        "SOURCE_URL": without_credentials(git("remote", "get-url", "origin")) or "unknown",
    }
    # BuildKit dates the image and its history with it (the Dockerfiles need no ARG).
    epoch = git("log", "-1", "--format=%ct")
    return metadata | ({"SOURCE_DATE_EPOCH": epoch} if epoch else {})


def without_credentials(url: str) -> str:
    """A remote URL without the user and token CI often embeds (https://user:TOKEN@host/...)."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def build(
    image: Image,
    bases: dict[str, str],
    *,
    tag: str | None = None,
    context: Path = ROOT,
    build_args: dict[str, str] | None = None,
    secrets: dict[str, Path] | None = None,
    no_cache: bool = False,
    quiet: bool = False,
    output: str | None = None,
    options: tuple[str, ...] = (),
) -> Build:
    """Build ``image`` from ``context`` on ``bases`` (official name -> image used); a
    ``Build`` (its seconds; its log when ``quiet``, else the log went to the terminal). A failed
    build raises ImageToolError (with the log's end when quiet).

    ``output``: buildx's ``--output`` instead of loading the image as ``tag``
    (``type=tar,dest=PATH,rewrite-timestamp=true``: the final filesystem, its file times clamped
    to SOURCE_DATE_EPOCH). ``options``: more buildx flags (the lab's ``--platform``...).
    """
    command = ["docker", "buildx", "build", *options]
    command += [f"--output={output}"] if output else ["--load", "--tag", tag or image.tag]
    command += _inputs(image, bases, context, build_args, secrets)
    command += ["--no-cache"] if no_cache else []
    command += ["--progress=plain", str(context)]
    replaced = None if output else image_id(tag or image.tag)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=quiet, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        detail = done.stderr.strip()[-3000:] if quiet else "see the build output above"
        raise ImageToolError(f"building {tag or image.tag} failed: {detail}")
    drop_replaced(replaced, tag or image.tag)
    return Build(seconds, done.stderr if quiet else "")


def _inputs(
    image: Image,
    bases: dict[str, str],
    context: Path,
    build_args: dict[str, str] | None = None,
    secrets: dict[str, Path] | None = None,
) -> list[str]:
    """buildx's flags for what ``image``'s build reads: its Dockerfile, the stand-ins as named
    contexts, the build args it declares, the build secrets."""
    declared = image.declared_args(context) | {"SOURCE_DATE_EPOCH"}  # BuildKit reads it itself
    args = build_metadata(context)
    # The service's packages, where the Dockerfile takes them (the baseline does not).
    if PACKAGE_ARGS & declared:
        args |= profile(context).build_args()
    args = {name: value for name, value in args.items() if name in declared}
    args |= build_args or {}
    # Stand-ins replace the bases the FROM lines name, which stay as written.
    contexts = {ref: bases[ref] for ref in image.base_images(context) if bases[ref] != ref}
    all_secrets = {"ca-bundle": CA_BUNDLE} if CA_BUNDLE.is_file() else {}
    all_secrets |= secrets or {}
    return [
        "--file", str(context / image.dockerfile),
        *(f"--build-context={ref}=docker-image://{used}" for ref, used in contexts.items()),
        *(f"--build-arg={name}={value}" for name, value in args.items()),
        *(f"--secret=id={name},src={path}" for name, path in all_secrets.items()),
    ]  # fmt: skip


# What a build says where buildx is too old for BuildKit's build checks.
NO_BUILD_CHECKS = "BuildKit's build checks not run: this buildx has none (0.15 or newer has them)"


def build_checks(image: Image, bases: dict[str, str], context: Path = ROOT) -> list[str] | None:
    """What BuildKit's build checks (``docker build --check``, buildx 0.15+) find in ``image``'s
    Dockerfile, one ``RULE (line N): DETAIL`` each, in the file's order; None where buildx is
    older and has no checks. Raises ImageToolError when the check itself fails (a Dockerfile
    that does not parse, an engine that stops). The rules: docs.docker.com/reference/build-checks.
    """
    version = docker("buildx", "version").split()
    found = re.match(r"v?(\d+)\.(\d+)", version[1] if len(version) > 1 else "")
    if not found or (int(found[1]), int(found[2])) < (0, 15):
        return None
    command = ["docker", "buildx", "build", "--call=check,format=json"]
    command += [*_inputs(image, bases, context), str(context)]
    done = subprocess.run(command, capture_output=True, text=True)
    try:
        warnings = json.loads(done.stdout).get("warnings") or []
    except json.JSONDecodeError:
        detail = done.stderr.strip()[-1000:]
        raise ImageToolError(f"BuildKit's checks of {image.dockerfile} failed: {detail}") from None
    return [
        f"{warning['ruleName']} (line {warning['location']['ranges'][0]['start']['line']}): "
        f"{warning['detail']}"
        for warning in sorted(
            warnings, key=lambda warning: warning["location"]["ranges"][0]["start"]["line"]
        )
    ]


def drop_replaced(replaced: str | None, tag: str) -> None:
    """Remove the image ``tag`` named before it moved, if no tag names it now: ours, left to
    no one. One that is still tagged (`docker tag` by a user, even in the same repository,
    where `docker image rm ID` would untag and delete it) stays."""
    if not replaced or replaced == image_id(tag):
        return
    # Empty when the engine removed it already (the containerd store does, once untagged).
    tags = docker("image", "inspect", "--format", "{{json .RepoTags}}", replaced, check=False)
    if tags.strip() in ("[]", "null"):
        docker("image", "rm", replaced, check=False)


def write_sbom(destination: Path) -> None:
    """A CycloneDX SBOM of what the runtime venv installs: uv.lock without dev dependencies."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "uv",
            "export",
            "--format",
            "cyclonedx1.5",
            "--preview-features",
            "sbom-export",
            "--locked",
            "--no-dev",
            "--no-editable",
            "--quiet",
            "--output-file",
            str(destination),
        ],
        cwd=ROOT,
        check=True,
    )
