"""deploy/kubernetes says what the image tests prove and compose.yaml runs: the same uid, the
same lockdown, health path, data folder, token file, stop time and memory (docs, "Kubernetes").
No cluster and no Docker: the files are read. `nox -s lint` validates them (schemas, checkov)."""

import re
from pathlib import Path

import pytest
import yaml

from tests import service
from tools import images
from tools.profile import profile
from tools.project import ENV_PREFIX, ROOT

MANIFESTS = ROOT / "deploy" / "kubernetes"


def documents() -> dict[str, dict]:
    """Every manifest by kind."""
    found = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            found[document["kind"]] = document
    return found


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict]:
    return documents()


@pytest.fixture(scope="module")
def pod(manifests: dict[str, dict]) -> dict:
    return manifests["Deployment"]["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def container(pod: dict) -> dict:
    (only,) = pod["containers"]
    return only


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
        ("readinessProbe", "/readyz"),
    ]:
        asked = container[probe]["httpGet"]
        assert asked["path"] == path
        assert named.get(asked["port"], asked["port"]) == port


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


@pytest.mark.feature("ADMIN_TOKEN")
def test_the_admin_token_is_a_read_only_secret_file_where_the_service_reads_it(
    pod: dict, container: dict
) -> None:
    path = Path(service.ADMIN_TOKEN.path)
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(path.parent))
    assert mount["readOnly"] is True
    secret = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
    assert [item["path"] for item in secret["items"]] == [path.name]
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
