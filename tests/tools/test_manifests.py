"""The manifests `nox -s kubernetes` writes (deploy/kubernetes with the service's profile) say
what the image tests prove and compose.yaml runs: the same uid, the same lockdown, health path,
data folder, secret files, stop time and memory (docs, "Kubernetes"); and they follow a profile
of another shape. No cluster and no Docker: the manifests are rendered in memory and read.
`nox -s lint` validates them (schemas, checkov)."""

import re
from pathlib import Path

import pytest
import yaml

from tests import service
from tools import images
from tools.engine import ImageToolError
from tools.kubernetes import TEMPLATES, render
from tools.profile import ServiceProfile, parse, profile
from tools.project import ENV_PREFIX, ROOT

# A Django service's profile: another health path, a required setting, no secret file.
DJANGO = {
    "health-path": "/health/",
    "settings": {"SECRET_KEY": "checks-only"},
    "secrets": [],
    "packages": {"build": [], "runtime": []},
    "dev-command": ["gunicorn", "--reload", "site.wsgi"],
    "build-step": "site-manage collectstatic --no-input",
}


def documents(service: ServiceProfile, image: str = "") -> dict[str, dict]:
    """Every manifest rendered with ``service``'s profile (and ``image``), by kind."""
    rendered = render(service, image=image)
    return {document["kind"]: document for found in rendered.values() for document in found}


def container_of(manifests: dict[str, dict]) -> dict:
    (only,) = manifests["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict]:
    return documents(profile())


@pytest.fixture(scope="module")
def pod(manifests: dict[str, dict]) -> dict:
    return manifests["Deployment"]["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def container(manifests: dict[str, dict]) -> dict:
    return container_of(manifests)


@pytest.fixture(scope="module")
def compose_app() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["app"]


def dockerfile(pattern: str) -> str:
    return re.search(pattern, (ROOT / images.OPTIMIZED.dockerfile).read_text(), re.M)[1]


def test_runs_as_the_images_numeric_uid_and_never_root(
    pod: dict, container: dict, compose_app: dict
) -> None:
    uid = int(dockerfile(r"^ARG APP_UID=(\d+)\b"))
    for context in (pod["securityContext"], container["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (uid, uid)
    assert compose_app["user"] == f"{uid}:{uid}"


def test_locked_down_as_the_image_tests_run_it(pod: dict, container: dict) -> None:
    """--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges, the default
    seccomp profile, no service links (issue 20)."""
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["enableServiceLinks"] is False
    assert pod["automountServiceAccountToken"] is False
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]


def test_probes_ask_the_health_and_readiness_paths_on_the_exposed_port(container: dict) -> None:
    port = int(dockerfile(r"^EXPOSE (\d+)$"))
    assert [p["containerPort"] for p in container["ports"]] == [port]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in [
        ("startupProbe", profile().health_path),
        ("livenessProbe", profile().health_path),
        ("readinessProbe", profile().readiness_path),
    ]:
        asked = container[probe]["httpGet"]
        assert asked["path"] == path
        assert named.get(asked["port"], asked["port"]) == port


def test_the_settings_come_from_a_secret_never_from_the_profiles_values(
    container: dict,
) -> None:
    """Each required setting by name, from the Secret the operator creates; the checks' values
    nowhere; any other setting from that Secret too, which may then be absent."""
    (source,) = container["envFrom"]
    secret = source["secretRef"]["name"]
    required = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container.get("env", [])}
    assert required == {name: {"name": secret, "key": name} for name in profile().settings}
    assert source["secretRef"]["optional"] is True


def test_one_writer_on_one_claim_at_the_images_data_folder(
    manifests: dict[str, dict], pod: dict, container: dict
) -> None:
    deployment = manifests["Deployment"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}
    data = dockerfile(r"^VOLUME (\S+)$")  # the folder the image keeps its data in
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claim = volumes[mounts[data]]["persistentVolumeClaim"]["claimName"]
    assert manifests["PersistentVolumeClaim"]["metadata"]["name"] == claim
    assert manifests["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_each_secret_is_a_read_only_file_in_run_secrets(pod: dict, container: dict) -> None:
    """Where compose mounts them: /run/secrets/NAME, one item each of one Secret."""
    secrets = profile().secrets
    mounts = [m for m in container["volumeMounts"] if m["mountPath"].startswith("/run/secrets")]
    assert [(m["mountPath"], m["readOnly"]) for m in mounts] == (
        [("/run/secrets", True)] if secrets else []
    )
    volumes = [v["secret"] for v in pod["volumes"] if "secret" in v]
    assert [[item["path"] for item in v["items"]] for v in volumes] == (
        [list(secrets)] if secrets else []
    )


@pytest.mark.feature("ADMIN_TOKEN")
def test_the_admin_token_is_a_read_only_secret_file_where_the_service_reads_it(
    pod: dict, container: dict
) -> None:
    path = Path(service.ADMIN_TOKEN.path)
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent))
    assert mount["readOnly"] is True
    secret = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
    assert path.name in [item["path"] for item in secret["items"]]
    assert not [e for e in container.get("env", []) if "TOKEN" in e["name"] and "value" in e]
    assert not [e for e in container.get("env", []) if e["name"] == f"{ENV_PREFIX}ADMIN_TOKEN_FILE"]


def test_stops_and_is_capped_as_compose_runs_it(
    container: dict, pod: dict, compose_app: dict
) -> None:
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > service.GRACEFUL_SHUTDOWN_SECONDS
    assert compose_app["stop_grace_period"] == f"{grace}s"
    memory = container["resources"]["limits"]["memory"]
    assert memory.endswith("Mi")
    assert compose_app["deploy"]["resources"]["limits"]["memory"] == memory.replace("Mi", "M")
    assert container["resources"]["requests"]["memory"]


def test_the_service_selects_the_pod_and_its_port(manifests: dict[str, dict]) -> None:
    labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selector = manifests["Service"]["spec"]["selector"]
    assert selector.items() <= labels.items()
    assert [p["targetPort"] for p in manifests["Service"]["spec"]["ports"]] == ["http"]


def test_the_manifests_follow_a_profile_of_another_shape() -> None:
    """A Django service: its probes ask /health/ (no readiness path of its own), its
    SECRET_KEY comes from the settings Secret (not the profile's value), and no secret volume
    is mounted, since it declares none."""
    manifests = documents(parse(DJANGO))
    container = container_of(manifests)
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    paths = {
        container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths == {"/health/"}
    (source,) = container["envFrom"]
    assert container["env"] == [
        {
            "name": "SECRET_KEY",
            "valueFrom": {
                "secretKeyRef": {"name": source["secretRef"]["name"], "key": "SECRET_KEY"}
            },
        }
    ]
    assert "checks-only" not in yaml.safe_dump(manifests)
    assert not [v for v in pod["volumes"] if "secret" in v]
    assert not [m for m in container["volumeMounts"] if m["mountPath"].startswith("/run/secrets")]


def test_only_the_deployment_follows_the_profile() -> None:
    """Two profiles' manifests differ in the Deployment alone: the rest is the kernel's."""
    ours, django = documents(profile()), documents(parse(DJANGO))
    assert {kind: m for kind, m in ours.items() if kind != "Deployment"} == {
        kind: m for kind, m in django.items() if kind != "Deployment"
    }


def test_a_deployment_without_the_places_of_the_profile_is_one_line_naming_them(
    tmp_path: Path,
) -> None:
    deployment = yaml.safe_load((TEMPLATES / "deployment.yaml").read_text())
    del deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    with pytest.raises(ImageToolError, match=r"not the template this tool fills .*'envFrom'"):
        render(profile(), tmp_path)
    with pytest.raises(ImageToolError, match="no manifests in"):
        render(profile(), tmp_path / "empty")


def test_a_name_kubernetes_refuses_is_one_line_naming_it(tmp_path: Path) -> None:
    # The API server refuses these; kubernetes-validate's schemas pass them.
    deployment = yaml.safe_load((TEMPLATES / "deployment.yaml").read_text())
    deployment["metadata"]["namespace"] = "acme_links"
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["secretRef"]["name"] = (
        "Acme-settings"
    )
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    with pytest.raises(
        ImageToolError,
        match=r"not a name Kubernetes takes .*'acme_links', Deployment: 'Acme-settings'$",
    ):
        render(profile(), tmp_path)


def test_the_deployment_runs_the_image_it_is_given() -> None:
    published = "registry.example/app@sha256:" + "0" * 64
    assert container_of(documents(profile(), image=published))["image"] == published
