"""Two builds of one commit, each without the layer cache, give the same filesystem.

Both builds get the last commit's time as SOURCE_DATE_EPOCH and export the final filesystem
with BuildKit's rewrite-timestamp, which clamps file times to it; uv writes no install marker
(UV_NO_INSTALLER_METADATA). Nothing is allowed to differ. The builds use --no-cache: nothing of
the builder's cache, this project's or anyone's, is pruned.
"""

import tarfile
from pathlib import Path

from tests.contract.profile import Expected, verdict
from tests.fingerprints import fingerprint as tar_fingerprint
from tools import base_images, images


def fingerprint(archive: Path) -> dict[str, tuple]:
    with tarfile.open(archive) as tar:
        return tar_fingerprint(tar)


def test_two_builds_without_cache_give_the_same_filesystem(
    image: images.Image, expected: Expected, tmp_path: Path
) -> None:
    bases = base_images.used()
    epoch = images.build_metadata()["SOURCE_DATE_EPOCH"]
    prints = []
    for run in (1, 2):
        archive = tmp_path / f"{run}.tar"
        images.build(
            image,
            bases,
            build_args={"SOURCE_DATE_EPOCH": epoch},
            no_cache=True,
            quiet=True,
            output=f"type=tar,dest={archive},rewrite-timestamp=true",
        )
        prints.append(fingerprint(archive))
    first, second = prints
    differing = sorted(p for p in first.keys() | second.keys() if first.get(p) != second.get(p))
    observed = f"two builds differ in {len(differing)} of {len(first)} paths: {differing[:10]}"
    print(f"{image.tag}: {observed}")
    verdict(expected, not differing, observed)
