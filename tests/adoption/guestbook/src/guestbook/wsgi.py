"""The WSGI application gunicorn serves: ``guestbook.wsgi:application`` (the dev loop's
`gunicorn --reload guestbook.wsgi`; `guestbook` loads it once, before forking its workers)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{__package__}.settings")

application = get_wsgi_application()
