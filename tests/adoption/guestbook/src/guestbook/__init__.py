"""guestbook: entries kept by Django in SQLite, served by gunicorn."""
