"""Build the images: ``python -m tools.build`` (nox -s build, nox -s up).

    python -m tools.build                       the service's images (tools/images.shipped),
                                                each one's size, layers and time; BuildKit's
                                                build checks of the kernel's Dockerfiles
    python -m tools.build --check               only check that the engine answers, has room
                                                and holds them (nox -s test)
    python -m tools.build --serve PORT          build the optimized image and run it on
                                                127.0.0.1:PORT, its data on a named volume

Exits 0 when done; 1 with one line on stderr when the engine, its disk, a base image, a
build, its build checks or dive's measure of it fails (engine.ImageToolError); 2 with its
usage on bad arguments.
"""

import argparse
import sys

from tools import base_images, engine, images, layer_sizes
from tools.profile import profile
from tools.project import ROOT


def build_all() -> None:
    """The service's images, once, on the bases the machine has; the record of the bases used
    and the SBOM written."""
    version = engine.require_engine()
    engine.require_free_space()
    mode, bases = base_images.resolve()
    base_images.write_used(mode, bases, version)
    for image in images.shipped():
        built = images.build(image, bases)
        size = layer_sizes.image_size(image.tag)
        print(
            f"{image.tag}: {layer_sizes.megabytes(size.unpacked)} unpacked "
            f"({layer_sizes.megabytes(size.wasted)} wasted), {len(size.layers)} layers, "
            f"built in {built.seconds:.1f} s on {bases[image.runtime_base()]}"
        )
    run_build_checks(bases)
    images.write_sbom(images.SBOM)
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    print(f"Docker engine {version}; base images ({mode}): {used}")
    print(f"SBOM of {images.OPTIMIZED.tag}: {images.SBOM.relative_to(ROOT)}")


def run_build_checks(bases: dict[str, str]) -> None:
    """BuildKit's build checks on every Dockerfile of the kernel; ImageToolError, naming each
    finding, unless none finds anything. Where buildx has no checks (before 0.15), one line
    says they were not run."""
    checked = (*images.shipped(), images.DEV_LOOP)
    findings = {}
    for image in checked:
        found = images.build_checks(image, bases)
        if found is None:
            print(images.NO_BUILD_CHECKS)
            return
        findings |= {f"{image.dockerfile}: {finding}" for finding in found}
    if findings:
        raise engine.ImageToolError(f"BuildKit's build checks found: {'; '.join(sorted(findings))}")
    names = ", ".join(image.dockerfile for image in checked)
    print(f"BuildKit's build checks: nothing found in {names}")


def check() -> None:
    """Raise ImageToolError unless the engine answers, has room, and holds the images, and
    `nox -s build` wrote down which bases it built them on."""
    engine.require_engine()
    engine.require_free_space()
    images.require_built(*images.shipped())
    base_images.used()


def serve(port: int) -> None:
    """Build the optimized image and run it detached on 127.0.0.1:``port``."""
    engine.require_engine()
    images.build(images.OPTIMIZED, base_images.resolve((images.OPTIMIZED,))[1])
    name = images.OPTIMIZED.tag.split(":")[0]
    engine.remove_container(name)
    volume = f"{name}-data"
    published = f"127.0.0.1:{port}:8000"
    engine.docker(
        "run", "--detach", "--name", name, "--publish", published,
        "--volume", f"{volume}:/data", *profile().run_args(), images.OPTIMIZED.tag,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}{profile().health_path}"
    print(
        f"{images.OPTIMIZED.tag} runs as container {name}: {url}; "
        f"logs: docker logs -f {name}; stop: docker rm -f {name} (data stays in volume {volume})"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build", description=__doc__.split("\n")[0]
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--check", action="store_true", help="check the engine and the images")
    chosen.add_argument("--serve", type=int, metavar="PORT", help="run the optimized image")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            check()
        elif arguments.serve:
            serve(arguments.serve)
        else:
            build_all()
    except engine.ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
