"""Image sizes read from the image's own layers (`docker save`), so that they mean the same on
the classic and the containerd image stores."""

import gzip
import hashlib
import subprocess
import tarfile
import zlib
from dataclasses import dataclass
from typing import IO

from tools.engine import ImageToolError, image_exists, inspect


@dataclass(frozen=True)
class Size:
    """Measured from the image's own layers, the same way on the classic and containerd stores
    (whose `docker images` sizes count different things)."""

    unpacked: int  # the bytes of every file in every layer, as a container's filesystem holds them
    compressed: int | None  # gzip (level 6, as registries receive) of each layer: what a pull moves


def image_size(tag: str, *, compressed: bool = False) -> Size:
    """Stream `docker save` and measure each layer as it passes, in bytes; gzip it too when
    asked. ImageToolError when the image cannot be saved.

    Only the engine's own platform's layers count: on the containerd store a multi-platform
    image saves every platform's, told apart by their digests (`docker image inspect` lists
    the engine's own).
    """
    own = set(inspect(tag)["RootFS"]["Layers"])
    unpacked = packed = 0
    with (
        subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE) as save,
        tarfile.open(fileobj=save.stdout, mode="r|") as saved,
    ):
        for blob in saved:
            if not blob.isfile():
                continue
            stream = _Prefixed(saved.extractfile(blob))
            if stream.head.startswith(b"\x1f\x8b"):  # the containerd store keeps them gzipped
                stream = gzip.GzipFile(fileobj=stream)
            hashed = _Hashed(stream)
            counted = _Gzipped(hashed) if compressed else hashed
            try:
                with tarfile.open(fileobj=counted, mode="r|") as layer:
                    files = sum(m.size for m in layer if m.isfile())
            except tarfile.ReadError:
                continue  # a manifest or config, not a layer
            size = counted.finish()
            if hashed.digest() in own:
                unpacked += files
                packed += size
    if save.returncode:
        raise ImageToolError(f"cannot read the layers of {tag}: is it built?")
    return Size(unpacked, packed if compressed else None)


def base_size(tag: str, base: str) -> int | None:
    """The unpacked size of ``base`` in bytes when ``tag`` is built on it: None when the base is not
    among the engine's images (an official one may be in BuildKit's cache only) or its layers
    are not the image's first ones (its tag has moved since the build)."""
    if not image_exists(base):
        return None
    own, theirs = inspect(tag)["RootFS"]["Layers"], inspect(base)["RootFS"]["Layers"]
    return image_size(base).unpacked if own[: len(theirs)] == theirs else None


class _Hashed:
    """A read-through stream that takes the digest of what passes: a layer's diff ID."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.sha256.update(data)
        return data

    def finish(self) -> int:
        while self.read(1 << 20):
            pass
        return 0

    def digest(self) -> str:
        return f"sha256:{self.sha256.hexdigest()}"


class _Prefixed:
    """A forward-only stream whose first block can be looked at before it is read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.head = stream.read(512)

    def read(self, n: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(n)
        if n < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:n], self.head[n:]
        return data + self.stream.read(n - len(data)) if len(data) < n else data


class _Gzipped:
    """A read-through stream that gzips what passes through it, to count the compressed size."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.size += len(self.compressor.compress(data))
        return data

    def finish(self) -> int:
        while self.read(1 << 20):
            pass
        return self.size + len(self.compressor.flush())


def megabytes(size: int) -> str:
    """Bytes as decimal megabytes (10**6), one decimal: '145.6 MB'."""
    return f"{size / 1e6:.1f} MB"
