"""The Kubernetes manifests of the service's profile, for `nox -s kubernetes`: ``python -m
tools.kubernetes [--image IMAGE@sha256:...]`` writes them to build/kubernetes/, what `kubectl
apply -f` is given (exit 1 with one line).

deploy/kubernetes/ knows no service: its files are templates, valid manifests that lint
validates too, each written out with what the profile declares (tools/profile.py), as compose
gets it through its override (tools/compose.py). The Deployment's places marked PROFILE:

- the startup and liveness probes ask the profile's health path, the readiness probe its
  readiness path;
- each required setting is an env entry from the key of its name in the settings Secret the
  template names, which the operator creates: the names only, never the profile's values,
  which are the checks';
- the secrets are the files /run/secrets/NAME, the items of the `secrets` volume, from the keys
  of the Secret the template names; that volume and its mount are left out when there are none.

A database the profile declares is not started here: in a cluster it is external, its address
in the settings (docs, "Kubernetes").
"""

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.engine import ImageToolError
from tools.images import BUILD_DIR
from tools.profile import ServiceProfile, profile
from tools.project import ROOT

TEMPLATES = ROOT / "deploy" / "kubernetes"
OUTPUT = BUILD_DIR / "kubernetes"
# The Deployment's volume of the secret files (deploy/kubernetes/deployment.yaml).
SECRETS_VOLUME = "secrets"
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
HEADER = (
    "# Written by `nox -s kubernetes` from deploy/kubernetes/{name} and pyproject.toml's\n"
    "# [tool.service]: edit those, not this.\n"
)


def where(path: Path) -> Path:
    """``path`` as the project names it, relative to its root when inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def templates(folder: Path = TEMPLATES) -> dict[str, list[dict]]:
    """Each template's documents, by file name; ImageToolError when there is none or one is
    not YAML."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            found[path.name] = [d for d in yaml.safe_load_all(path.read_text()) if d]
        except yaml.YAMLError as error:
            said = " ".join(str(error).split())
            raise ImageToolError(f"{where(path)} is not YAML: {said}") from None
    if not found:
        raise ImageToolError(f"no manifests in {where(folder)}")
    return found


@dataclass(frozen=True)
class Places:
    """Where the profile goes in the Deployment, the manifests' own objects (filled in place),
    and the names of the Secrets the operator creates."""

    namespace: str
    pod: dict
    container: dict
    # Each probe's httpGet, in the order of PROBES: its path is the profile's.
    probes: tuple[dict, ...]
    # The Secret the settings come from, and the one of the secret files, with their volume.
    settings: str
    files: str
    volume: dict


# An object's name and namespace as the API server takes them: an RFC 1123 label. The
# manifests' schemas leave the pattern out, so kubernetes-validate passes `name: acme_links`.
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def invalid_names(manifests: dict[str, list[dict]], referenced: tuple[str, ...]) -> list[str]:
    """Each object name, namespace or referenced Secret name that is not an RFC 1123 label, as
    ``FILE: NAME`` (``referenced`` under ``Deployment``)."""
    named = [
        (file, document.get("metadata", {}).get(key))
        for file, documents in manifests.items()
        for document in documents
        for key in ("name", "namespace")
    ]
    named += [("Deployment", name) for name in referenced]
    return [f"{file}: {name!r}" for file, name in named if name and not DNS_LABEL.fullmatch(name)]


def places(manifests: dict[str, list[dict]], folder: Path = TEMPLATES) -> Places:
    """The Deployment's places for the profile; ImageToolError naming what it lacks, or each
    name Kubernetes would refuse."""
    deployments = [
        document
        for documents in manifests.values()
        for document in documents
        if document.get("kind") == "Deployment"
    ]
    if len(deployments) != 1:
        raise ImageToolError(f"{where(folder)}: expected one Deployment")
    try:
        pod = deployments[0]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        probes = tuple(container[probe]["httpGet"] for probe in PROBES)
        (settings,) = [source["secretRef"]["name"] for source in container["envFrom"]]
        (volume,) = [v for v in pod["volumes"] if v["name"] == SECRETS_VOLUME]
        namespace = deployments[0]["metadata"]["namespace"]
        files = volume["secret"]["secretName"]
    except (KeyError, TypeError, ValueError) as error:
        raise ImageToolError(
            f"{where(folder)}: its Deployment is not the template this tool fills "
            f"(a namespace; one container whose {', '.join(PROBES)} ask an httpGet path, whose "
            f"envFrom is one secretRef; a volume {SECRETS_VOLUME!r} of a Secret): "
            f"{type(error).__name__} {error}"
        ) from None
    if invalid := invalid_names(manifests, (settings, files)):
        raise ImageToolError(
            f"{where(folder)}: not a name Kubernetes takes (lower-case letters, digits and "
            f"'-', at most 63): {', '.join(invalid)}"
        )
    return Places(namespace, pod, container, probes, settings, files, volume)


def render(
    service: ServiceProfile, folder: Path = TEMPLATES, image: str = ""
) -> dict[str, list[dict]]:
    """The templates in ``folder`` with ``service``'s profile, and running ``image`` if given,
    by file name; ImageToolError naming what the Deployment lacks of the places the profile
    fills."""
    manifests = templates(folder)
    found = places(manifests, folder)
    container = found.container
    if image:
        container["image"] = image
    for name, probe in zip(PROBES, found.probes, strict=True):
        probe["path"] = service.readiness_path if name == "readinessProbe" else service.health_path
    required = [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": found.settings, "key": name}}}
        for name in service.settings
    ]
    if environment := (container.get("env") or []) + required:
        container["env"] = environment
    else:
        container.pop("env", None)
    if service.secrets:
        found.volume["secret"]["items"] = [{"key": n, "path": n} for n in service.secrets]
    else:
        found.pod["volumes"].remove(found.volume)
        mounts = container.get("volumeMounts", [])
        container["volumeMounts"] = [m for m in mounts if m["name"] != SECRETS_VOLUME]
    return manifests


def write(manifests: dict[str, list[dict]], folder: Path = OUTPUT) -> list[Path]:
    """Write ``manifests`` to ``folder``, one file a template, in place of what it held; return
    their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    written = []
    for name, documents in manifests.items():
        text = yaml.safe_dump_all(documents, sort_keys=False, width=100)
        (folder / name).write_text(HEADER.format(name=name) + text)
        written.append(folder / name)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.kubernetes",
        description=f"Write deploy/kubernetes with the service's profile to {where(OUTPUT)}/.",
    )
    parser.add_argument(
        "--image",
        default="",
        metavar="IMAGE@sha256:...",
        help="the image the Deployment runs, as published (else the template's placeholder)",
    )
    arguments = parser.parse_args(argv)
    try:
        service = profile()
        found = places(templates())  # the Secrets' names, even those the profile leaves out
        written = write(render(service, image=arguments.image))
    except ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"written: {', '.join(str(where(path)) for path in written)}")
    create = f"kubectl -n {found.namespace} create secret generic"
    print(f"kubectl apply -f {where(OUTPUT / 'namespace.yaml')}")
    if service.settings:
        values = " ".join(f"--from-literal={name}=..." for name in service.settings)
        print(f"{create} {found.settings} {values}")
    if service.secrets:
        files = " ".join(f"--from-file=./{name}" for name in service.secrets)
        print(f"{create} {found.files} {files}")
    print(f"kubectl apply -f {where(OUTPUT)}/")
    if service.database:
        print("its database is external: its address goes in the settings (docs, 'Kubernetes')")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
