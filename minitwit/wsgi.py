"""gunicorn entry point: `gunicorn --chdir <this folder> wsgi:app`."""

from minitwit import app

__all__ = ["app"]
