"""The supply chain of `nox -s publish`, in a registry and with a key pair of the test's own.

Two publishes of this commit, each built with --no-cache (nothing of the builder's cache is
pruned; uv's download cache, a cache mount, stays warm), into a docker-registry on loopback
under a temporary folder, stopped at the end.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest

from lab import publish
from lab.registry import Api, LocalRegistry
from lab.supply_chain import layers
from tools import base_images, canaries, engine, images
from tools.engine import ImageToolError
from tools.project import NAME

pytestmark = pytest.mark.image


@pytest.fixture(scope="module", autouse=True)
def containerd_store() -> None:
    """Stop the run with one line where the engine or its image store cannot publish."""
    try:
        engine.require_engine()
        publish.require_containerd_store()
    except ImageToolError as error:
        pytest.exit(str(error), returncode=1)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as started:
        yield started


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> publish.Key:
    return publish.signing_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def publishes(registry, key, tmp_path_factory: pytest.TempPathFactory) -> list:
    done = []
    for run in (1, 2):
        started = time.perf_counter()
        workdir = tmp_path_factory.mktemp(f"publish-{run}")
        done.append(publish.publish_to(registry.host, key, workdir, no_cache=True))
        print(f"publish {run} from scratch: {time.perf_counter() - started:.1f} s in all")
    return done


@pytest.fixture(scope="module")
def published(publishes) -> publish.Published:
    return publishes[0]


def test_two_publishes_from_scratch_give_the_same_image_digest(registry, publishes) -> None:
    first, second = (p.pushed for p in publishes)
    print(f"image manifest digests: {first.manifest} {second.manifest}")
    explained = "" if first.manifest == second.manifest else layers.differences(
        Api(registry.host), f"{registry.host}/{NAME}", first.manifest, second.manifest
    )  # fmt: skip
    assert first.manifest == second.manifest, explained


def test_signature_sbom_and_provenance_verify_for_the_optimized_image(published, key) -> None:
    verified = publish.verify(published.pushed.image, key.public)
    print(publish.describe(verified))
    assert verified.sboms
    assert verified.provenances


def test_a_pull_by_tag_or_index_verifies_too(published, key) -> None:
    pushed = published.pushed
    for reference in (pushed.indexed, f"{pushed.repository}:{pushed.tag}"):
        done = publish.cosign(
            "verify", "--key", str(key.public), "--insecure-ignore-tlog",
            *publish.http(reference), reference,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


def test_the_provenance_names_this_commit_and_the_dockerfile(published, key) -> None:
    revision = images.build_metadata()["REVISION"]
    signed = publish.verify(published.pushed.image, key.public).provenances
    assert {publish.built_revision(p) for p in signed} == {revision}
    assert {p["invocation"]["configSource"]["entryPoint"] for p in signed} == {"Dockerfile"}
    buildkit = publish.provenance(published.pushed.indexed)
    vcs = buildkit["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]["vcs"]
    assert vcs["revision"] == revision


def test_the_provenance_carries_no_credential_from_the_git_remote(registry, tmp_path) -> None:
    context = tmp_path / "context"
    canaries.plant(context)
    commit = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qm", "x"]
    for command in (["add", "--all"], commit):
        subprocess.run(["git", "-C", str(context), *command], check=True)
    bases = base_images.resolve((images.OPTIMIZED,))[1]
    pushed = publish.build_and_push(
        images.OPTIMIZED, bases, f"{registry.host}/{NAME}-canary", "canary", tmp_path,
        context=context,
    )  # fmt: skip
    provenance = publish.provenance(pushed.indexed)
    published = json.dumps([provenance, publish.image_config(pushed.indexed)])
    vcs = provenance["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]["vcs"]
    assert vcs["source"] == "https://git.example.invalid/org/repo.git", vcs
    assert canaries.CANARIES["git-remote"] not in published


def test_an_image_pushed_unsigned_fails_verification(registry, key, tmp_path) -> None:
    """The optimized image, pushed to another repository without being signed (the baseline
    would prove the same in 160 s of pushing 1.3 GB, measured here)."""
    bases = base_images.resolve((images.OPTIMIZED,))[1]
    pushed = publish.build_and_push(
        images.OPTIMIZED, bases, f"{registry.host}/{NAME}-unsigned", "unsigned", tmp_path
    )
    with pytest.raises(ImageToolError, match=r"cosign verify failed.*no signatures found"):
        publish.verify(pushed.image, key.public)


def test_one_changed_byte_in_a_layer_fails_verification(registry, published, key) -> None:
    repository = published.pushed.repository
    digest = layers.tampered(
        Api(registry.host), repository.split("/", 1)[1], published.pushed.manifest, "tampered"
    )
    assert digest != published.pushed.manifest
    with pytest.raises(ImageToolError, match="cosign verify failed"):
        publish.verify(f"{repository}@{digest}", key.public)


def test_syft_finds_exactly_the_locked_packages_and_the_attested_sbom_agrees(
    published, key, tmp_path
) -> None:
    locked = publish.locked_packages()
    scanned = publish.venv_packages(publish.scan(published.pushed.image, tmp_path / "s.json"))
    attested = publish.verify(published.pushed.image, key.public).sboms
    print(f"{len(locked)} packages locked: {sorted(locked)}")
    assert publish.package_differences(locked, scanned) == []
    for sbom in attested:
        assert publish.package_differences(locked, publish.venv_packages(sbom)) == []


def test_a_package_added_by_hand_fails_the_sbom_check(registry, published, tmp_path) -> None:
    repository = published.pushed.repository
    digest = layers.with_package(
        Api(registry.host), repository.split("/", 1)[1], published.pushed.manifest,
        "hand-installed", "hand-installed-canary",
    )  # fmt: skip
    sbom = publish.scan(f"{repository}@{digest}", tmp_path / "sbom.json")
    with pytest.raises(ImageToolError, match=r"hand-installed-canary: locked no, found 1\.0"):
        publish.check_packages(sbom, "the changed image")


def test_publishing_leaves_no_image_behind_in_the_engine(registry, publishes) -> None:
    names = engine.docker("image", "ls", "--format", "{{.Repository}}").split()
    assert [n for n in names if n.startswith(registry.host)] == []


def test_a_started_registry_is_stopped_with_its_data_in_its_folder(tmp_path: Path) -> None:
    with LocalRegistry(tmp_path) as started:
        assert Api(started.host).answers()
    assert not started.running()
    assert not Api(started.host).answers()
    assert (tmp_path / "config.yml").is_file()


def test_a_key_named_without_its_password_stops_with_what_to_do(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COSIGN_KEY", str(tmp_path / "release.key"))
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    with pytest.raises(ImageToolError, match="export COSIGN_PASSWORD"):
        publish.signing_key(tmp_path)


def test_a_registry_that_does_not_answer_stops_with_what_to_do(monkeypatch, tmp_path) -> None:
    with LocalRegistry(tmp_path / "gone") as stopped:
        host = stopped.host
    monkeypatch.setenv(publish.REGISTRY_SETTING, host)
    with pytest.raises(ImageToolError, match=f"no registry answers at {host}.*start it"):
        publish.publish(key_dir=tmp_path / "keys")
