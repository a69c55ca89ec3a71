"""A base image the kernel's Dockerfiles share is named the same in each: one bump, one tag."""

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools import images
from tools.project import ROOT

DEV = images.Image("dev", "", "dev.Dockerfile")


def named(image: images.Image, repository: str) -> set[str]:
    return {ref for ref in image.base_images() if ref.split(":")[0] == repository}


def test_every_dockerfile_builds_with_the_same_uv() -> None:
    kernel = (*images.shipped(), DEV)
    tags = set().union(*(named(image, "ghcr.io/astral-sh/uv") for image in kernel))
    assert len(tags) == 1, f"uv at several tags: {sorted(tags)}"


def test_the_dev_loop_runs_on_the_production_python_base() -> None:
    assert named(DEV, "python") == named(images.OPTIMIZED, "python")
    assert len(named(images.OPTIMIZED, "python")) == 1


@pytest.mark.parametrize("image", images.shipped(), ids=lambda image: image.name)
def test_every_image_runs_the_production_python(image: images.Image) -> None:
    """Each image builds on, or copies its interpreter from (Dockerfile.minimal), the optimized
    image's base."""
    assert named(image, "python") == named(images.OPTIMIZED, "python")


def test_uv_lies_in_the_uv_build_range_the_offline_install_needs() -> None:
    """The Dockerfiles install the project `--offline`: the uv_build inside their uv builds it, so
    that uv's version must satisfy pyproject.toml's `[build-system] requires`, or the build
    stops, offline, unable to fetch uv_build."""
    (tag,) = named(images.OPTIMIZED, "ghcr.io/astral-sh/uv")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (uv_build,) = [r for r in map(Requirement, requires) if canonicalize_name(r.name) == "uv-build"]
    assert uv_build.specifier.contains(tag.split(":")[1]), (tag, str(uv_build))
