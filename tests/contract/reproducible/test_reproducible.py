"""Two builds of one commit, each without the layer cache, give the same filesystem.

Both builds get the last commit's time as SOURCE_DATE_EPOCH and export the final filesystem
with BuildKit's rewrite-timestamp, which clamps file times to it; uv writes no install marker
(UV_NO_INSTALLER_METADATA). Nothing is allowed to differ. The builds use --no-cache: nothing of
the builder's cache, this project's or anyone's, is pruned.
"""

import tarfile
from pathlib import Path

from tests.contract.profile import Expected, verdict
from tests.fingerprints import fingerprint
from tools import base_images, images
from tools.project import ROOT


def two_builds(
    image: images.Image, bases: dict[str, str], workdir: Path, context: Path = ROOT
) -> tuple[bool, str]:
    """Build ``image`` twice without cache, each exported as a tar in ``workdir``: whether
    both hold the same paths with the same metadata and content, and what was seen."""
    epoch = images.build_metadata()["SOURCE_DATE_EPOCH"]
    prints = []
    for run in (1, 2):
        archive = workdir / f"{run}.tar"
        images.build(
            image,
            bases,
            context=context,
            build_args={"SOURCE_DATE_EPOCH": epoch},
            no_cache=True,
            quiet=True,
            output=f"type=tar,dest={archive},rewrite-timestamp=true",
        )
        with tarfile.open(archive) as tar:
            prints.append(fingerprint(tar))
        archive.unlink()
    first, second = prints
    differing = sorted(p for p in first.keys() | second.keys() if first.get(p) != second.get(p))
    observed = f"two builds differ in {len(differing)} of {len(first)} paths: {differing[:10]}"
    return not differing, observed


def test_two_builds_without_cache_give_the_same_filesystem(
    image: images.Image, expected: Expected, tmp_path: Path
) -> None:
    same, observed = two_builds(image, base_images.used(), tmp_path)
    print(f"{image.tag}: {observed}")
    verdict(expected, same, observed)
