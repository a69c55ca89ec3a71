"""Images changed by hand through the registry's HTTP API, and what differs between two."""

import gzip
import hashlib
import io
import json
import tarfile

from lab.registry import Api
from tests.fingerprints import fingerprint
from tools.project import ROOT

PYTHON = (ROOT / ".python-version").read_text().strip()
SITE_PACKAGES = f"/app/.venv/lib/python{PYTHON}/site-packages"


def tampered(api: Api, repository: str, digest: str, tag: str) -> str:
    """A copy of the image with one byte of its last layer changed, pushed as ``tag``."""
    manifest = api.manifest(repository, digest)
    changed = manifest.json()
    layer = changed["layers"][-1]
    blob = bytearray(api.blob(repository, layer["digest"]))
    blob[len(blob) // 2] ^= 0x01
    layer["digest"] = api.put_blob(repository, bytes(blob))
    return api.put_manifest(repository, tag, changed, manifest.media_type)


def with_package(api: Api, repository: str, digest: str, tag: str, name: str) -> str:
    """The image with one more layer: a Python package's metadata in its virtual environment,
    as `pip install` by hand would leave it; pushed as ``tag``."""
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo(f"{SITE_PACKAGES[1:]}/{name}-1.0.dist-info/METADATA")
        info.size = len(metadata)
        tar.addfile(info, io.BytesIO(metadata))
    unpacked = layer.getvalue()
    packed = gzip.compress(unpacked, mtime=0)
    manifest = api.manifest(repository, digest)
    changed = manifest.json()
    config = json.loads(api.blob(repository, changed["config"]["digest"]))
    config["rootfs"]["diff_ids"].append(f"sha256:{hashlib.sha256(unpacked).hexdigest()}")
    config["history"].append({"created_by": f"a test adds {name} by hand"})
    config_data = json.dumps(config).encode()
    changed["config"] |= {"digest": api.put_blob(repository, config_data), "size": len(config_data)}
    changed["layers"].append(
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": api.put_blob(repository, packed),
            "size": len(packed),
        }
    )
    return api.put_manifest(repository, tag, changed, manifest.media_type)


def files(layer_blob: bytes) -> dict[str, tuple]:
    """Every path of a (gzipped) layer with its type, mode, owner, time and content hash."""
    with tarfile.open(fileobj=io.BytesIO(layer_blob), mode="r:*") as tar:
        return fingerprint(tar)


def differences(api: Api, repository: str, first: str, second: str) -> str:
    """How two image manifests differ: their configs, then layer by layer, file by file."""
    one, two = (api.manifest(repository, d).json() for d in (first, second))
    report = []
    if one["config"]["digest"] != two["config"]["digest"]:
        configs = [json.loads(api.blob(repository, m["config"]["digest"])) for m in (one, two)]
        keys = sorted(k for k in configs[0].keys() | configs[1].keys() if len(set(
            json.dumps(c.get(k), sort_keys=True) for c in configs)) > 1)  # fmt: skip
        report.append(f"config differs in {keys}")
    pairs = zip(one["layers"], two["layers"], strict=False)
    for number, (a, b) in enumerate(pairs):
        if a["digest"] == b["digest"]:
            continue
        left, right = (files(api.blob(repository, layer["digest"])) for layer in (a, b))
        paths = sorted(p for p in left.keys() | right.keys() if left.get(p) != right.get(p))
        report.append(f"layer {number} differs in {len(paths)} files: {paths[:20]}")
    if len(one["layers"]) != len(two["layers"]):
        report.append(f"{len(one['layers'])} layers against {len(two['layers'])}")
    return "; ".join(report)
