"""The WSGI entry point for gunicorn: `gunicorn eldercare.wsgi:app`."""

from . import create_app

app = create_app()
