"""The build tool on a user's engine: it removes only what it left untagged itself."""

import subprocess
import uuid

from tools import engine, images


def test_a_build_keeps_the_old_image_a_user_tagged() -> None:
    """A build moves the image's tag to the new image; the old one, if the user tagged it too
    (`docker tag shortlink:optimized shortlink:v1`), is theirs, not left over: it stays."""
    kept = f"{images.OPTIMIZED.tag.split(':')[0]}:kept-{uuid.uuid4().hex[:8]}"
    # An empty image, named only by the user's tag, as the old image is once the build moved
    # the project's tag away from it.
    empty = subprocess.run(["tar", "--create", "--files-from=/dev/null"], capture_output=True)
    subprocess.run(
        ["docker", "import", "-", kept], input=empty.stdout, check=True, capture_output=True
    )
    try:
        images.drop_replaced(engine.image_id(kept), images.OPTIMIZED.tag)
        assert engine.image_exists(kept), f"{kept}, tagged by its user, was removed"
    finally:
        engine.docker("image", "rm", kept, check=False)
