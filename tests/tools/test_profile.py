"""The service profile's reader (tools/profile.py): each field missing or malformed is one line
naming it, so `nox -s unit` says in seconds what a cloner's pyproject.toml lacks."""

import pytest

from tools.profile import ProfileError, parse

VALID = {
    "health-path": "/healthz",
    "settings": {"SECRET_KEY": "for-the-checks"},
    "dev-command": ["gunicorn", "--reload", "site.wsgi"],
    "packages": {"build": ["gcc", "libpq-dev"], "runtime": ["libpq5"]},
    "secrets": ["db_password"],
    "build-step": "python manage.py collectstatic --no-input",
}


def test_a_complete_profile_gives_build_args_and_run_args() -> None:
    profile = parse(VALID)
    assert profile.build_args() == {
        "BUILD_PACKAGES": "gcc libpq-dev",
        "RUNTIME_PACKAGES": "libpq5",
        "BUILD_STEP": "python manage.py collectstatic --no-input",
    }
    assert profile.run_args() == ("--env=SECRET_KEY=for-the-checks",)
    assert profile.readiness_path == "/healthz"  # none declared: the health path


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"health-path": None}, "health-path: missing"),
        ({"health-path": "healthz"}, "health-path: 'healthz' does not start with '/'"),
        ({"readiness-path": "readyz"}, "readiness-path: 'readyz' does not start with '/'"),
        ({"settings": ["SECRET_KEY"]}, "settings: ['SECRET_KEY'] is not a table"),
        ({"settings": {"SECRET KEY": "x"}}, "settings.SECRET KEY: not a variable name"),
        ({"settings": {"DEBUG": 1}}, "settings.DEBUG: not a variable name with a string value"),
        ({"packages": {"build": []}}, "packages.runtime: missing"),
        (
            {"packages": {"build": ["gcc; rm -rf /"], "runtime": []}},
            "packages.build: 'gcc; rm -rf /' is not",
        ),
        ({"dev-command": "uvicorn app:app"}, "dev-command: 'uvicorn app:app' is not"),
        ({"dev-command": []}, "dev-command: empty"),
        ({"secrets": ["../etc/passwd"]}, "secrets: '../etc/passwd' is not a file name"),
        ({"build-step": None}, "build-step: missing"),
        ({"build-step": "a\nb"}, "build-step: one line"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_missing_or_malformed_field_is_one_line_naming_it(change: dict, field: str) -> None:
    table = {k: v for k, v in (VALID | change).items() if v is not None}
    with pytest.raises(ProfileError) as raised:
        parse(table)
    message = str(raised.value)
    assert message.startswith("[tool.service] "), message
    assert field in message, message
    assert "\n" not in message, message


DATABASE = {
    "image": "postgres:17-trixie",
    "environment": {"POSTGRES_PASSWORD": "checks-only"},
    "ready": ["pg_isready"],
    "data": "/var/lib/postgresql/data",
}


def test_a_database_beside_it_is_optional_and_read_whole() -> None:
    assert parse(VALID).database is None
    database = parse(VALID | {"database": DATABASE}).database
    assert database is not None
    assert database.run_args() == ("--env=POSTGRES_PASSWORD=checks-only",)
    assert database.ready == ("pg_isready",)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"image": None}, "database.image: missing"),
        ({"environment": {"PASSWORD": 5}}, "database.environment.PASSWORD"),
        ({"ready": []}, "database.ready: empty"),
        ({"data": "pgdata"}, "database.data: 'pgdata' is not an absolute path"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_malformed_database_is_one_line_naming_its_field(change: dict, field: str) -> None:
    database = {k: v for k, v in (DATABASE | change).items() if v is not None}
    with pytest.raises(ProfileError) as raised:
        parse(VALID | {"database": database})
    assert field in str(raised.value), raised.value
