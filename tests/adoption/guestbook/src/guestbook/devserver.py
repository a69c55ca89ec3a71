"""gunicorn's configuration for the dev loop (the profile's dev-command: `gunicorn --config
python:guestbook.devserver --reload ... guestbook.wsgi`), for an edit served within a second or
two: measured without Docker, 2.0-2.5 s from the edit to the answer without it, 1.0-1.4 s with.

- Django's modules the app uses are imported here, once, in gunicorn's master: the worker each
  edit restarts then imports only the service's own (this list is only a speed-up: a module
  missing from it is imported by the worker, as before). No module of this package: those are
  the ones an edit changes.
- A worker ends without the interpreter's teardown (as guestbook.__main__.end_now does): the
  master forks the next one only once the old one has exited.
"""

import importlib
import os
import sys

# What the app imports of Django and whitenoise (its settings' apps and middleware, the ORM
# with the SQLite backend, the request handler, the views' helpers).
PRELOADED = (
    "django.contrib.staticfiles.apps",
    "django.core.handlers.wsgi",
    "django.db.backends.sqlite3.base",
    "django.db.models",
    "django.http",
    "django.middleware.security",
    "django.urls",
    "django.views.decorators.http",
    "whitenoise.middleware",
)
for _name in PRELOADED:
    importlib.import_module(_name)


def worker_exit(server: object, worker: object) -> None:
    """gunicorn's hook, in the worker as it ends: the logs flushed, the process ended."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)
