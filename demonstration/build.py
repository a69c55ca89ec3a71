"""Build the demonstration's image: ``python -m demonstration.build [--check]``.

Run by `nox -s build` after the service's images (``--check`` by `nox -s test`: only that it is
built). Exits 0 when done, 1 with one line on stderr when the engine, the build or dive's
measure of it fails.
"""

import sys

from tools import base_images, engine, images, layer_sizes

from . import BASELINE


def main(argv: list[str]) -> int:
    try:
        version = engine.require_engine()
        if argv == ["--check"]:
            images.require_built(BASELINE)
            return 0
        mode, bases = base_images.resolve((BASELINE,))
        # Beside the bases of the service's images, which `nox -s build` recorded first.
        base_images.write_used(mode, base_images.used() | bases, version)
        built = images.build(BASELINE, bases)
        size = layer_sizes.image_size(BASELINE.tag)
    except engine.ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"{BASELINE.tag} (bad on purpose): {layer_sizes.megabytes(size.unpacked)} unpacked "
        f"({layer_sizes.megabytes(size.wasted)} wasted), built in {built.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
