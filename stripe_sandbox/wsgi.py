"""The sandbox as a WSGI application, for any WSGI server: ``stripe_sandbox.wsgi:app``.

``make run`` serves it with ``flask --app stripe_sandbox run --port 5002`` instead.
"""

from stripe_sandbox import create_app

app = create_app()
