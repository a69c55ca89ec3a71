"""guestbook's unit tests run on a database of their own, in a temporary folder: its settings
are given here, before Django reads them (once per process)."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA_DIR = tempfile.mkdtemp(prefix="guestbook-unit-")
os.environ.update(
    GUESTBOOK_DATA_DIR=DATA_DIR,
    GUESTBOOK_SECRET_KEY="unit-tests-only",
    DJANGO_SETTINGS_MODULE="guestbook.settings",
)


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """Django set up and the migrations applied to an empty database; its file. The static
    files' folder is an empty one of the tests' (the image's, /app/assets, is not here)."""
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    (Path(DATA_DIR) / "assets").mkdir()
    with override_settings(STATIC_ROOT=str(Path(DATA_DIR) / "assets")):
        yield str(settings.DATABASES["default"]["NAME"])
    shutil.rmtree(DATA_DIR, ignore_errors=True)
