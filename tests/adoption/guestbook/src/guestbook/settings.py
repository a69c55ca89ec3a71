"""Django's settings (DJANGO_SETTINGS_MODULE=guestbook.settings), from the service's own
(config.py): the environment is read in one place."""

from .config import Settings, logging_config

_service = Settings.from_environment(secret_required=False)

SECRET_KEY = _service.secret_key
DEBUG = _service.debug
ALLOWED_HOSTS = list(_service.allowed_hosts)

INSTALLED_APPS = [__package__, "django.contrib.staticfiles"]
# A JSON API without cookies or sessions: no CSRF, session or auth middleware. Nothing here asks
# for the Host header on /healthz, so a probe by any name (a pod's IP) is answered.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
]
ROOT_URLCONF = f"{__package__}.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _service.database,
        # Each write takes the lock when it begins, and waits up to 5 s for the other worker's:
        # no "database is locked" from two gunicorn workers writing at once.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "static/"
# Where the image's build step (collectstatic) writes what the runtime gets, read-only
# (tools/profile.py, ASSETS); whitenoise serves it. With DEBUG, from the sources instead.
STATIC_ROOT = "/app/assets"

LOGGING = logging_config(_service.log_level)
