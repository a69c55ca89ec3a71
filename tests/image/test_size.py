"""The optimized image is its runtime base plus the app's virtual environment, and no more."""

from tools import images

from .conftest import per_image

# fastapi, pydantic (its compiled core is most of it), uvicorn and the app, bytecode included,
# measure about 17 MB installed; 40 MB leaves room to grow without hiding a stray layer.
VENV_BUDGET = 40_000_000
# Far below the baseline's ~1 GB and the seed's quoted 937 MB; above any slim Python image.
ABSOLUTE_CAP = 250_000_000


@per_image(optimized=True, baseline=False)
def test_image_is_at_most_its_python_base_plus_the_venv_budget(
    image: images.Image, expected: bool, bases: dict[str, str]
) -> None:
    python_base = bases[images.OPTIMIZED.base_images()["PYTHON_IMAGE"]]
    base_size = images.image_size(python_base)
    size = images.image_size(image.tag)
    holds = size <= base_size + VENV_BUDGET
    assert holds is expected, (
        f"{image.tag}: {images.megabytes(size)}; {python_base}: {images.megabytes(base_size)}"
    )


@per_image(optimized=True, baseline=False)
def test_image_is_far_below_the_absolute_size_cap(image: images.Image, expected: bool) -> None:
    size = images.image_size(image.tag)
    assert (size <= ABSOLUTE_CAP) is expected, f"{image.tag}: {images.megabytes(size)}"
