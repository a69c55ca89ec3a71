"""The WSGI application gunicorn serves: ``guestbook.wsgi:application`` (the dev loop's
`gunicorn --reload guestbook.wsgi`; `guestbook` loads it once, before forking its workers)."""

import importlib
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from .deadline import BodyDeadline

os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{__package__}.settings")

application = BodyDeadline(get_wsgi_application())
# The URLconf, and with it the views, loaded with the app rather than at the first request:
# once in gunicorn's master, before it forks; and, under --reload, before gunicorn's reloader
# first lists the modules, which takes a module it meets later (views.py, imported by the first
# request) as it is then: an edit made just before went unseen.
importlib.import_module(settings.ROOT_URLCONF)
