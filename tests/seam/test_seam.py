"""The seam (tests/service.py) is complete and agrees with the service and the
Dockerfiles: what a cloner who replaced the service learns here in seconds, with no Docker,
instead of after a build and an AttributeError."""

import inspect
import re
from collections.abc import Callable

import pytest

from tests import service
from tests.contract.profile import ImageProfile
from tools import images
from tools.profile import ProfileError, profile
from tools.project import ENV_PREFIX, PACKAGE, ROOT

REQUIRED = {
    "GRACEFUL_SHUTDOWN_SECONDS": int,
    "DATA_DIR": str,
    "INVALID_SETTINGS": dict,
    "UNWRITABLE_DATA": str,
    "LOCATE_APP": str,
    "IMAGES": dict,
    "VENV_BUDGET_MB": int | float,
}
# Each function, with how many arguments the checks call it with.
REQUIRED_FUNCTIONS = {"round_trip": 1, "write": 2, "stored": 2}
# Each optional feature, with what it is when the service has it.
OPTIONAL = {
    "ADMIN_TOKEN": lambda value: isinstance(value, service.AdminToken),
    "BUILD_INFO": callable,
    "CLOSED_ON_STOP": lambda value: isinstance(value, str) and bool(value),
    "DEV_EDIT": lambda value: isinstance(value, service.DevEdit),
    "SERVICE_LINKS": lambda value: isinstance(value, str) and bool(value),
    "JSON_LOGS": lambda value: isinstance(value, str) and "=" in value,
    "PROXY": lambda value: isinstance(value, service.ProxyHeaders),
    "JSON_BODY_PATH": lambda value: isinstance(value, str) and value.startswith("/"),
    "GUARDS_OFF": lambda value: isinstance(value, dict) and set(value) <= GUARDS,
    "RESOURCE_ERRORS": lambda value: isinstance(value, str) and bool(value),
    "UNWRITABLE_DATABASE": lambda value: isinstance(value, str) and bool(value),
}
# The server's guards against hostile clients a GUARDS_OFF may turn off.
GUARDS = {"header-bytes", "body-time", "keep-alive"}
# What the seam may also name: the shapes it fills (shapes.py, the contract's profile.py), typing.
ALSO = {"AdminToken", "DevEdit", "ProxyHeaders", "ImageProfile", "Callable", "TYPE_CHECKING"}
SOURCES = ROOT / "src" / PACKAGE


def source_text() -> str:
    return "\n".join(path.read_text() for path in sorted(SOURCES.rglob("*.py")))


def test_the_service_profile_is_complete() -> None:
    """pyproject.toml's [tool.service]: what it lacks or gets wrong, in one line naming the
    field (no traceback)."""
    try:
        profile()
        problem = ""
    except ProfileError as error:
        problem = str(error)
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.mark.parametrize(("name", "kind"), REQUIRED.items())
def test_declares_every_required_value(name: str, kind: type) -> None:
    value = getattr(service, name, None)
    assert isinstance(value, kind), f"service.{name}: a {getattr(kind, '__name__', kind)}"
    assert value, f"service.{name} is empty"


@pytest.mark.parametrize(("name", "arguments"), REQUIRED_FUNCTIONS.items())
def test_declares_every_required_function(name: str, arguments: int) -> None:
    function = getattr(service, name, None)
    assert callable(function), f"service.{name} is missing: the image checks call it"
    assert len(inspect.signature(function).parameters) == arguments, name


@pytest.mark.parametrize("image", images.shipped(), ids=lambda image: image.name)
def test_each_image_has_a_profile(image: images.Image) -> None:
    profile = service.IMAGES.get(image.name)
    assert isinstance(profile, ImageProfile), (
        f"service.IMAGES[{image.name!r}]: declare {image.dockerfile}'s ImageProfile"
    )
    cap = profile.size_cap_mb
    assert cap is None or cap > 0, f"service.IMAGES[{image.name!r}].size_cap_mb: MB, above 0"
    assert profile.python, f"service.IMAGES[{image.name!r}].python: the argv of its Python"


@pytest.mark.parametrize(("name", "kind"), OPTIONAL.items(), ids=list(OPTIONAL))
def test_each_optional_feature_is_declared_or_none(name: str, kind: Callable) -> None:
    assert hasattr(service, name), f"service.{name}: declare it, None if the service has none"
    value = getattr(service, name)
    assert value is None or kind(value), f"service.{name}: None, or what its comment says"


def test_declares_nothing_the_checks_do_not_read() -> None:
    """A misspelt name (ADMIN_TOKENS) would leave the real one undeclared."""
    public = {name for name in vars(service) if not name.startswith("_") and name.isidentifier()}
    known = set(REQUIRED) | set(REQUIRED_FUNCTIONS) | set(OPTIONAL) | ALSO
    unknown = {name for name in public - known if not inspect.ismodule(getattr(service, name))}
    unknown -= {"ENV_PREFIX", "PACKAGE", "annotations", "profile"}
    assert not unknown, f"not read by any check: {sorted(unknown)} (name a helper _like_this)"


def test_settings_it_names_are_the_services() -> None:
    assert service.DATA_DIR.startswith(ENV_PREFIX)
    for setting in service.INVALID_SETTINGS.values():
        variable, _, value = setting.partition("=")
        assert variable.startswith(ENV_PREFIX), setting
        assert value, setting
    compile(service.LOCATE_APP, "LOCATE_APP", "exec")
    named = [service.JSON_LOGS] if service.JSON_LOGS else []
    if service.PROXY:
        named += [f"{service.PROXY.trusted}=", *service.PROXY.settings]
    named += list((service.GUARDS_OFF or {}).values())
    for setting in named:
        assert setting.startswith(ENV_PREFIX), setting
        assert "=" in setting, setting


def test_every_literal_a_check_looks_for_is_in_the_service() -> None:
    """The words the checks expect in logs and answers are the service's own."""
    text = source_text()
    literals = [profile().health_path, service.UNWRITABLE_DATA]
    if service.ADMIN_TOKEN:
        literals += [service.ADMIN_TOKEN.unreadable, service.ADMIN_TOKEN.disabled]
    if service.CLOSED_ON_STOP:
        literals.append(service.CLOSED_ON_STOP)
    for words in (service.SERVICE_LINKS, service.RESOURCE_ERRORS, service.UNWRITABLE_DATABASE):
        if words:
            literals.append(words)
    missing = [literal for literal in literals if literal not in text]
    assert not missing, f"not in {SOURCES.relative_to(ROOT)}: {missing}"
    if service.DEV_EDIT:
        assert (ROOT / service.DEV_EDIT.source).is_file(), service.DEV_EDIT.source


# The Dockerfiles a cloner keeps, and the console script their CMD runs (pyproject.toml).
DOCKERFILES = [*(image.dockerfile for image in images.shipped()), "dev.Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_what_the_dockerfiles_run_is_in_the_service(dockerfile: str) -> None:
    """Every `PACKAGE.module[:function]` a CMD, HEALTHCHECK or build step runs exists in src/
    with that function (main() unless named), and so does the console script a CMD names."""
    text = (ROOT / dockerfile).read_text()
    if f'CMD ["{PACKAGE}"]' in text:
        scripts = (ROOT / "pyproject.toml").read_text()
        assert re.search(rf'^{PACKAGE} = "{PACKAGE}\.__main__:main"$', scripts, re.M)
    for module, function in set(re.findall(rf"\b{PACKAGE}\.(\w+)(?::(\w+))?", text)):
        path = SOURCES / f"{module}.py"
        assert path.is_file(), f"{dockerfile} runs {PACKAGE}.{module}: {path} is missing"
        name = function or "main"
        assert re.search(rf"^def {name}\(", path.read_text(), re.M), f"{path}: no {name}()"


def test_a_secret_the_service_reads_is_one_its_profile_declares() -> None:
    """Compose mounts only the profile's secrets: the admin token's file must be one of them."""
    if service.ADMIN_TOKEN:
        path = service.ADMIN_TOKEN.path
        declared = [f"/run/secrets/{name}" for name in profile().secrets]
        assert path in declared, f"{path}: add its name to [tool.service] secrets ({declared})"
