"""The Celery entry point: ``celery -A perks.worker worker`` and ``celery -A perks.worker beat``.

It builds the app from the environment exactly as ``wsgi.py`` does, so the worker, the
scheduler and the web processes share every setting (database, broker, mail).
"""

from perks import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
