"""A registry on loopback (Debian's docker-registry) and the few calls of its HTTP API that
`nox -s publish` and its tests need: read a manifest or blob, write them back changed."""

import hashlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tools.engine import ImageToolError

# What an index or manifest may be served as; the registry answers with the one it holds.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
STARTUP_SECONDS = 20


def is_loopback(host: str) -> bool:
    """Whether the engine, cosign and syft talk plain HTTP to it (127.0.0.0/8, localhost)."""
    name = host.split("/")[0].rsplit(":", 1)[0]
    return name == "localhost" or name.startswith("127.")


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True)
class Manifest:
    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict:
        return json.loads(self.data)


@dataclass(frozen=True)
class Api:
    """The HTTP API of an unauthenticated registry at ``host`` (host:port)."""

    host: str

    @property
    def base(self) -> str:
        return f"{'http' if is_loopback(self.host) else 'https'}://{self.host}/v2"

    def answers(self) -> bool:
        """Any HTTP answer counts: a registry that wants a login still answers."""
        try:
            # S310: every URL here starts with `base`, http(s) only.
            with urllib.request.urlopen(f"{self.base}/", timeout=5):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            return False

    def _call(self, method: str, url: str, data: bytes | None = None, **headers: str):
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            return urllib.request.urlopen(request, timeout=120)  # noqa: S310
        except urllib.error.HTTPError as error:
            raise ImageToolError(
                f"registry {self.host}: {method} {url} answered {error.code}: "
                f"{error.read()[:300].decode(errors='replace')}"
            ) from None

    def manifest(self, repository: str, reference: str) -> Manifest:
        url = f"{self.base}/{repository}/manifests/{reference}"
        with self._call("GET", url, Accept=MANIFEST_TYPES) as answer:
            data = answer.read()
            return Manifest(data, answer.headers["Content-Type"], sha256(data))

    def blob(self, repository: str, digest: str) -> bytes:
        with self._call("GET", f"{self.base}/{repository}/blobs/{digest}") as answer:
            return answer.read()

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload in one request (POST then PUT, the monolithic upload); its digest."""
        with self._call("POST", f"{self.base}/{repository}/blobs/uploads/") as answer:
            location = answer.headers["Location"]
        if location.startswith("/"):
            location = self.base.removesuffix("/v2") + location
        digest = sha256(data)
        joiner = "&" if "?" in location else "?"
        url = f"{location}{joiner}digest={digest}"
        self._call("PUT", url, data, **{"Content-Type": "application/octet-stream"}).close()
        return digest

    def put_manifest(self, repository: str, reference: str, manifest: dict, media_type: str) -> str:
        data = json.dumps(manifest, separators=(",", ":")).encode()
        url = f"{self.base}/{repository}/manifests/{reference}"
        self._call("PUT", url, data, **{"Content-Type": media_type}).close()
        return sha256(data)


class LocalRegistry:
    """Debian's docker-registry serving ``folder``/data on a free loopback port, until stopped."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.host = ""

    def start(self) -> "LocalRegistry":
        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.host = f"127.0.0.1:{port}"
        config = self.folder / "config.yml"
        # JSON is YAML: no YAML writer needed. Deletes allowed so a kept registry can be pruned.
        config.write_text(
            json.dumps(
                {
                    "version": 0.1,
                    "log": {"level": "error"},
                    "storage": {
                        "filesystem": {"rootdirectory": str(self.folder / "data")},
                        "delete": {"enabled": True},
                    },
                    "http": {"addr": self.host},
                },
                indent=2,
            )
        )
        try:
            with (self.folder / "registry.log").open("w") as log:
                self.process = subprocess.Popen(
                    ["docker-registry", "serve", str(config)], stdout=log, stderr=log
                )
        except FileNotFoundError:
            raise ImageToolError(
                "docker-registry is not installed: `bash offline/docker-engine` installs it "
                "(Debian package docker-registry), or name a registry in the environment"
            ) from None
        deadline = time.monotonic() + STARTUP_SECONDS
        while not Api(self.host).answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ImageToolError(
                    f"docker-registry did not start on {self.host}: see {self.folder}/registry.log"
                )
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def running(self) -> bool:
        return bool(self.process) and self.process.poll() is None

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
