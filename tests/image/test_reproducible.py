"""Two builds of one commit, each from an empty builder cache, give the same filesystem.

Both builds get the last commit's time as SOURCE_DATE_EPOCH and export the final filesystem
with BuildKit's rewrite-timestamp, which clamps file times to it. The image ID itself is not
compared: the docker driver's image exporter ignores rewrite-timestamp on this engine
(moby/buildkit#4986); the containerd image store or a docker-container builder closes that.
"""

import hashlib
import re
import tarfile
from pathlib import Path

from tools import images

from .conftest import per_image

# uv records the ctime of the installed project's source in an install-cache marker (and its
# hash in RECORD). A ctime cannot be set, so these two files differ between any two builds.
UV_INSTALL_MARKER = re.compile(
    r"^app/\.venv/lib/python[\d.]+/site-packages/shortlink-[^/]+\.dist-info/(uv_cache\.json|RECORD)$"
)


def fingerprint(archive: Path) -> dict[str, tuple]:
    """Every path with its type, mode, owner, time and content hash."""
    prints = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            content = tar.extractfile(member).read() if member.isfile() else b""
            prints[member.name] = (
                member.type,
                member.mode,
                member.uid,
                member.gid,
                member.mtime,
                member.linkname,
                hashlib.sha256(content).hexdigest(),
            )
    return prints


@per_image(optimized=True, baseline=False)
def test_two_builds_from_scratch_give_the_same_filesystem(
    image: images.Image,
    expected: bool,
    bases: dict[str, str],
    tmp_path: Path,
    figures: list[str],
) -> None:
    epoch = images.build_metadata()["SOURCE_DATE_EPOCH"]
    prints = []
    for run in (1, 2):
        images.docker("builder", "prune", "--all", "--force")
        archive = tmp_path / f"{run}.tar"
        images.build(
            image,
            bases,
            build_args={"SOURCE_DATE_EPOCH": epoch},
            no_cache=True,
            quiet=True,
            filesystem_tar=archive,
        )
        prints.append(fingerprint(archive))
    first, second = prints
    differing = sorted(p for p in first.keys() | second.keys() if first.get(p) != second.get(p))
    unexplained = [path for path in differing if not UV_INSTALL_MARKER.match(path)]
    figures.append(
        f"{image.tag}: two builds from scratch differ in {len(differing)} of {len(first)} paths"
        + (f" ({', '.join(Path(p).name for p in differing)})" if len(differing) <= 3 else "")
    )
    assert (not unexplained) is expected, f"{len(unexplained)} paths differ: {unexplained[:10]}"
