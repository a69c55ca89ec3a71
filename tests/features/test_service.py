"""The admin token, the storage closed on stop and the build metadata the service reports: on
the service's images, each with a negative control where the image is what protects it."""

from pathlib import Path

import pytest

from tests import service
from tests.contract.profile import Expected, fails, one_clear_line, verdict
from tools import images
from tools.containers import Running, remove_container, serve, start, stop, try_start

# Short, so a service that ignores SIGTERM is killed quickly.
STOP_TIMEOUT = 3


@pytest.fixture
def unreadable_token(tmp_path: Path) -> Path:
    token = tmp_path / "admin_token"
    token.write_text("not-readable-by-the-app\n")
    token.chmod(0)
    return token


def with_unreadable_token(tag: str, token_file: Path, *run_args: str) -> tuple[bool, str]:
    """Started with a token file only root may read: whether it stopped with one clear line."""
    token = service.ADMIN_TOKEN
    mount = f"type=bind,src={token_file},dst={token.path},readonly"
    container, observed = try_start(tag, "--mount", mount, *run_args)
    if container is not None:
        try:
            read = token.accepted(container, "not-readable-by-the-app")
        finally:
            remove_container(container)
        evidence = "started, and the unreadable token was read" if read else "started"
        return False, f"{evidence} (the file is mode 000: only root reads it)"
    return one_clear_line(observed, 1, token.unreadable), observed


@pytest.mark.feature("ADMIN_TOKEN")
def test_an_unreadable_admin_token_file_fails_fast_with_one_line(
    image: images.Image, expected: Expected, unreadable_token: Path
) -> None:
    verdict(expected, *with_unreadable_token(image.tag, unreadable_token))


@pytest.mark.feature("ADMIN_TOKEN")
def test_an_unreadable_admin_token_file_is_read_by_root_the_negative_control(
    unreadable_token: Path,
) -> None:
    """Run as root, the setting the image's USER protects from, it reads the file."""
    holds, observed = with_unreadable_token(images.OPTIMIZED.tag, unreadable_token, "--user", "0")
    verdict(fails(r"started, and the unreadable token was read"), holds, observed)


@pytest.mark.feature("ADMIN_TOKEN")
def test_without_an_admin_token_file_its_feature_is_off_and_the_service_runs(
    container: Running, expected: Expected
) -> None:
    token = service.ADMIN_TOKEN
    off = token.off(container)
    said_once = container.logs().count(token.disabled) == 1
    verdict(expected, off and said_once, f"off {off}, {token.disabled!r} said once {said_once}")


def closed_on_stop(tag: str, *run_args: str, command: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Started with ``run_args`` (``command`` replacing its CMD when given), then `docker stop`:
    whether the service logged that it closed its storage."""
    container, _ = serve(tag, *run_args, command=command)
    try:
        _, exit_code = stop(container, STOP_TIMEOUT)
        closed = service.CLOSED_ON_STOP in container.logs()
    finally:
        remove_container(container)
    return closed, f"{service.CLOSED_ON_STOP!r} logged on stop: {closed} (exit code {exit_code})"


@pytest.mark.feature("CLOSED_ON_STOP")
def test_docker_stop_lets_the_service_close_its_storage(
    image: images.Image, expected: Expected
) -> None:
    verdict(expected, *closed_on_stop(image.tag))


@pytest.mark.feature("CLOSED_ON_STOP")
def test_a_shell_as_pid_1_keeps_the_service_from_closing_it_the_negative_control() -> None:
    """Under a shell that waits for it, as a shell-form CMD runs it, SIGTERM never reaches the
    service: it is killed without closing its storage. (The exec-form CMD protects it.)"""
    shell_form = ("-c", "shortlink; exit $?")
    holds, observed = closed_on_stop(
        images.OPTIMIZED.tag, "--entrypoint", "/bin/sh", command=shell_form
    )
    verdict(fails(r"logged on stop: False \(exit code 137\)"), holds, observed)


def reports_the_build(container: Running) -> tuple[bool, str]:
    """Whether the service reports the metadata of the commit its image was built from."""
    metadata = images.build_metadata()
    reported = service.BUILD_INFO(container)
    wanted = {
        "version": metadata["VERSION"],
        "revision": metadata["REVISION"],
        "build_date": metadata["CREATED"],
    }
    return reported == wanted, f"reported {reported}, built from {wanted}"


@pytest.mark.feature("BUILD_INFO")
def test_the_service_reports_the_build_metadata_the_image_passes_it(
    container: Running, expected: Expected
) -> None:
    verdict(expected, *reports_the_build(container))


@pytest.mark.feature("BUILD_INFO")
def test_without_the_image_passing_it_the_revision_is_unknown_the_negative_control() -> None:
    """The Dockerfile's last ENV passes the revision; without it (set back to its default), the
    service reports 'unknown'."""
    container = start(images.OPTIMIZED.tag, "--env", "SHORTLINK_REVISION=unknown")
    try:
        holds, observed = reports_the_build(container)
    finally:
        remove_container(container)
    verdict(fails(r"'revision': 'unknown'"), holds, observed)
