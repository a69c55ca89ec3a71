"""Without an aarch64 handler in the kernel, one line says what is missing and how to add it."""

from pathlib import Path

import pytest

from lab import platforms
from tools import engine


def test_a_machine_without_arm64_emulation_gets_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platforms, "BINFMT", tmp_path)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    with pytest.raises(engine.ImageToolError) as refused:
        platforms.require_emulation("linux/arm64", "linux/amd64")
    message = str(refused.value)
    assert "\n" not in message
    assert "aarch64" in message
    assert "offline/qemu-arm64" in message


def test_a_registered_aarch64_handler_is_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platforms, "BINFMT", tmp_path)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (tmp_path / "any-name").write_text(
        f"enabled\ninterpreter /usr/bin/qemu\nflags: POF\noffset 0\n"
        f"magic {platforms.ELF_MAGIC['arm64']}\n"
    )
    platforms.require_emulation("linux/arm64", "linux/amd64")
