"""The Celery entry point: ``celery -A perks.worker worker`` and ``celery -A perks.worker beat``.

It builds the app from the environment exactly as ``wsgi.py`` does, so the worker, the
scheduler and the web processes share every setting (database, broker, mail).

The objects loaded so far (modules, the app, its templates' code) then leave the garbage
collector's generations (``gc.freeze``): they live as long as the process, and each full
collection would otherwise walk them all again. Before the pool forks its processes, as
Python's documentation of ``gc.freeze`` advises, so they share those pages too.
"""

import gc

from perks import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

gc.collect()
gc.freeze()
