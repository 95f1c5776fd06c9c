"""gunicorn entry point, named by gunicorn.conf.py: `gunicorn -c gunicorn.conf.py --bind ADDR`."""

from minitwit import app

__all__ = ["app"]
