"""Canary secrets planted in a copy of the build context, and a search for them in an image.

Used by the image tests and the journey: nothing secret is ever in the repository.
"""

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

from tools import engine, project
from tools.project import ENV_PREFIX, NAME

# env-file: an .env in the context; git-remote: a token in the remote URL, as CI checkouts have
# (it reaches .git/config, and the label of the source URL unless stripped); build: a build
# secret given as a build arg and as a secret mount. Each is the same on every run, and written
# nowhere in the repository (a hash): BuildKit keys no layer on a secret's content, so a canary
# that changed each run could hide a leak behind a layer cached with the last one; a stable one
# makes a cached layer hold exactly what a rebuild would, and the canary builds use the cache.
CANARIES = {
    kind: f"canary-{kind}-{hashlib.sha256(f'{NAME} {kind}'.encode()).hexdigest()[:32]}"
    for kind in ("env-file", "git-remote", "build")
}


def plant(context: Path) -> Path:
    """Copy the build context to ``context`` with the canaries in it; return the netrc secret.

    The build canary is meant to be given both ways a Dockerfile can take a secret: as the
    build arg DB_PASSWORD and inside the ``netrc`` build secret.
    """
    project.copy_files(context)
    (context / ".env").write_text(f"{ENV_PREFIX}ADMIN_TOKEN={CANARIES['env-file']}\n")
    remote = f"https://ci-user:{CANARIES['git-remote']}@git.example.invalid/org/repo.git"
    for command in (["init", "--quiet"], ["remote", "add", "origin", remote]):
        subprocess.run(["git", "-C", str(context), *command], check=True)
    netrc = context.parent / "netrc"
    netrc.write_text(f"machine index.example.invalid login ci password {CANARIES['build']}\n")
    return netrc


def build_inputs(netrc: Path) -> dict:
    """The keyword arguments that hand the build canary to ``images.build``."""
    return {"build_args": {"DB_PASSWORD": CANARIES["build"]}, "secrets": {"netrc": netrc}}


def find(tag: str, workdir: Path) -> dict[str, list[str]]:
    """Where each canary appears: in the image's config (env, labels...), in its history, in any
    file of any layer."""
    found: dict[str, list[str]] = {kind: [] for kind in CANARIES}

    def look(where: str, data: bytes) -> None:
        for kind, canary in CANARIES.items():
            if canary.encode() in data:
                found[kind].append(where)

    look("image config", json.dumps(engine.inspect(tag)).encode())
    look("docker history", engine.docker("history", "--no-trunc", tag).encode())
    archive = workdir / f"{tag.replace(':', '-').replace('/', '-')}.tar"
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
