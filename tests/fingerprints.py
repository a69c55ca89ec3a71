"""What two builds are compared by: every path of a tar with its metadata and content hash."""

import hashlib
import tarfile


def fingerprint(tar: tarfile.TarFile) -> dict[str, tuple]:
    """Every path with its type, mode, owner, time, link target and content hash."""
    prints = {}
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
