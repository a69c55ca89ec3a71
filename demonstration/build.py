"""Build the demonstration's image: ``python -m demonstration.build [--check]``.

Run by `nox -s build` after the service's images (``--check`` by `nox -s test`: only that it is
built). Where buildx has BuildKit's build checks (0.15+), they must find in the baseline
exactly what expected.py lists. Exits 0 when done, 1 with one line when the engine, the build,
dive's measure of it or those findings fail.
"""

import sys

from tools import base_images, engine, images, layer_sizes

from . import BASELINE
from .expected import BUILD_CHECKS


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
        found = images.build_checks(BASELINE, bases)
    except engine.ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if found is None:
        print(images.NO_BUILD_CHECKS)
    else:
        print(f"{BASELINE.dockerfile}, BuildKit's build checks:", *found, sep="\n  ")
        rules = sorted(finding.split()[0] for finding in found)
        if rules != sorted(BUILD_CHECKS):
            expected = ", ".join(sorted(BUILD_CHECKS))
            print(f"error: BuildKit's checks found {', '.join(rules)}; expected {expected}")
            return 1
    print(
        f"{BASELINE.tag} (bad on purpose): {layer_sizes.megabytes(size.unpacked)} unpacked "
        f"({layer_sizes.megabytes(size.wasted)} wasted), built in {built.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
