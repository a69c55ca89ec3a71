"""Which processor a compiled file is for, read from its ELF header: no need to run it."""

import struct
import tarfile
from pathlib import Path

# e_machine values (the System V ABI) for the architectures this project builds.
MACHINES = {"amd64": 62, "arm64": 183}


def machines(archive: Path, under: str) -> dict[str, int]:
    """Path -> e_machine of every shared object below ``under`` in an exported filesystem."""
    found = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and member.name.startswith(under) and ".so" in member.name:
                header = tar.extractfile(member).read(20)
                if header[:4] == b"\x7fELF":
                    # e_machine: a little-endian u16 at offset 18 (EI_DATA is LSB on both).
                    found[member.name] = struct.unpack_from("<H", header, 18)[0]
    return found
