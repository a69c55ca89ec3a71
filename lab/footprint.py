"""Prove that a run leaves the machine as it found it (`.ci/run` wraps every session in this).

``python -m lab.footprint plant STATE``: plant an unrelated image, volume and BuildKit cache
entry, as another project on the same machine would have, and note what exists.
``python -m lab.footprint check STATE``: the planted three are still there (nothing pruned
them), and the run left nothing new but what `nox -s build` is meant to leave: the project's
images and the stand-in bases. The planted probes are removed afterwards.
"""

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import uuid
from pathlib import Path

from tools import engine
from tools.project import NAME

KEPT_REPOSITORIES = (f"{NAME}:", "standin.invalid/")
PROBE = "footprint-probe"


def listing(*command: str) -> set[str]:
    return set(engine.docker(*command).split())


def state() -> dict[str, list[str]]:
    return {
        "images": sorted(listing("image", "ls", "--all", "--quiet", "--no-trunc")),
        "containers": sorted(listing("container", "ls", "--all", "--quiet", "--no-trunc")),
        "volumes": sorted(listing("volume", "ls", "--quiet")),
        "networks": sorted(listing("network", "ls", "--quiet", "--no-trunc")),
    }


def build_probe(folder: Path, token: str) -> str:
    """Build a one-file image from scratch; its plain progress output."""
    (folder / "probe.txt").write_text(token)
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY probe.txt /\n")
    # Tagged: the docker driver keeps every build's result as an image, and this one is ours.
    done = subprocess.run(
        ["docker", "buildx", "build", "--progress=plain", f"--tag={PROBE}-cache:{token}", folder],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise engine.ImageToolError(f"the cache probe did not build: {done.stderr[-500:]}")
    return done.stderr


def plant(state_file: Path) -> None:
    """Plant the three probes; write what exists, and the probes' token, to ``state_file``."""
    token = uuid.uuid4().hex
    probe = f"{PROBE}:{token}"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("probe.txt")
        info.size = len(token)
        tar.addfile(info, io.BytesIO(token.encode()))
    subprocess.run(
        ["docker", "import", "-", probe], input=archive.getvalue(), capture_output=True, check=True
    )
    engine.docker("volume", "create", f"{PROBE}-{token}")
    with tempfile.TemporaryDirectory() as folder:
        build_probe(Path(folder), token)
    state_file.write_text(json.dumps({"token": token, "before": state()}))


def check(state_file: Path) -> list[str]:
    """What is wrong; empty when the run left the machine as it found it."""
    planted = json.loads(state_file.read_text())
    token, before = planted["token"], planted["before"]
    # Read before the cache probe below builds again: on the containerd store its rebuild is a
    # new image, the probe's own.
    after = state()
    problems = []
    if not engine.image_exists(f"{PROBE}:{token}"):
        problems.append("the unrelated image was removed")
    if f"{PROBE}-{token}" not in listing("volume", "ls", "--quiet"):
        problems.append("the unrelated volume was removed")
    with tempfile.TemporaryDirectory() as folder:
        if "CACHED" not in build_probe(Path(folder), token):
            problems.append("the unrelated build cache entry was pruned")
    kept = {
        image_id
        for line in engine.docker(
            "image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"
        ).splitlines()
        if line.startswith(KEPT_REPOSITORIES)
        for image_id in line.split()[1:]
    }
    for kind, ids in after.items():
        left = set(ids) - set(before[kind]) - (kept if kind == "images" else set())
        if left:
            problems.append(f"{len(left)} {kind} left behind: {sorted(left)[:5]}")
    engine.docker("image", "rm", f"{PROBE}:{token}", f"{PROBE}-cache:{token}", check=False)
    engine.docker("volume", "rm", f"{PROBE}-{token}", check=False)
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.footprint", description=__doc__)
    parser.add_argument("action", choices=("plant", "check"))
    parser.add_argument("state_file", type=Path, metavar="STATE")
    options = parser.parse_args(argv)
    if options.action == "plant":
        plant(options.state_file)
        return 0
    problems = check(options.state_file)
    for problem in problems:
        print(f"footprint: {problem}", file=sys.stderr)
    print("footprint: the machine is as it was found" if not problems else "", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
