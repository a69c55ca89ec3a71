"""No secret reaches the optimized image; the baseline leaks every one (the negative control).

Both images are built, without cache, from a temporary copy of the build context into which
canary secrets are planted: an .env file, a fake .git folder, and a build secret given both
ways a Dockerfile can take one (a build arg, and a BuildKit secret mount).
"""

import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import images

from .conftest import per_image

CANARIES = {kind: f"canary-{kind}-{uuid.uuid4().hex}" for kind in ("env-file", "git", "build")}
LEFT_BEHIND = shutil.ignore_patterns(
    ".git", ".venv", ".nox", ".env*", "__pycache__", ".ruff_cache", ".pytest_cache", "data"
)


def plant_canaries(context: Path) -> Path:
    """Copy the build context and plant the canaries; return the build secret's file."""
    shutil.copytree(images.ROOT, context, ignore=LEFT_BEHIND)
    (context / ".env").write_text(f"SHORTLINK_ADMIN_TOKEN={CANARIES['env-file']}\n")
    (context / ".git").mkdir()
    (context / ".git" / "config").write_text(
        f'[remote "origin"]\n\turl = https://{CANARIES["git"]}@git.example.invalid/x.git\n'
    )
    netrc = context.parent / "netrc"
    netrc.write_text(f"machine index.example.invalid login ci password {CANARIES['build']}\n")
    return netrc


def find_canaries(tag: str, workdir: Path) -> dict[str, list[str]]:
    """Where each canary appears: in Config.Env, in the history, in any file of any layer."""
    found: dict[str, list[str]] = {kind: [] for kind in CANARIES}

    def look(where: str, data: bytes) -> None:
        for kind, canary in CANARIES.items():
            if canary.encode() in data:
                found[kind].append(where)

    config = images.inspect(tag)["Config"]
    look("Config.Env", "\n".join(config.get("Env") or []).encode())
    look("docker history", images.docker("history", "--no-trunc", tag).encode())
    archive = workdir / f"{tag.replace(':', '-')}.tar"
    subprocess.run(["docker", "save", "--output", str(archive), tag], check=True)
    with tarfile.open(archive) as saved:
        for blob in saved:
            if not blob.isfile():
                continue
            content = saved.extractfile(blob)
            try:
                with tarfile.open(fileobj=content) as layer:
                    for member in layer:
                        if member.isfile():
                            look(f"{blob.name}:{member.name}", layer.extractfile(member).read())
            except tarfile.ReadError:
                content.seek(0)
                look(blob.name, content.read())
    archive.unlink()
    return found


@pytest.fixture(scope="session")
def leaks(tmp_path_factory: pytest.TempPathFactory, bases: dict[str, str]) -> Iterator[dict]:
    """Image name -> canary kind -> where it was found, for both canary builds."""
    workdir = tmp_path_factory.mktemp("canary")
    netrc = plant_canaries(workdir / "context")
    found = {}
    for image in images.IMAGES:
        tag = f"shortlink-canary:{image.name}"
        images.build(
            image,
            bases,
            tag=tag,
            context=workdir / "context",
            build_args={"DB_PASSWORD": CANARIES["build"]},
            secrets={"netrc": netrc},
            no_cache=True,
            quiet=True,
        )
        found[image.name] = find_canaries(tag, workdir)
    yield found
    for image in images.IMAGES:
        images.docker("rmi", "--force", f"shortlink-canary:{image.name}", check=False)


@per_image(optimized=True, baseline=False)
@pytest.mark.parametrize("canary", CANARIES)
def test_canary_secret_appears_nowhere_in_the_image(
    leaks: dict, image: images.Image, expected: bool, canary: str
) -> None:
    where = leaks[image.name][canary]
    assert (not where) is expected, f"{canary} canary found in: {where[:10]}"
