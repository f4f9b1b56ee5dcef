"""The probes (``/healthz``, ``/readyz``, ``/metrics``) answer whatever Host they are asked
with.

``TRUSTED_HOSTS`` lists the site's names, and Flask answers 400 to any other Host. But the
supervisor polls ``http://127.0.0.1:8000/healthz``, a load balancer the backend's own
address, Prometheus ``127.0.0.1:8000/metrics``: refused, they would take every backend out of
service. The probes build no link and read nothing from the Host, so ``ProbeHosts`` hands
them to Flask under the site's first trusted name; every other request is unchanged (and
still refused from an untrusted Host). ``/metrics`` keeps its own guard (the loopback address
or the token, ``perks.metrics``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeHosts:
    """Sends a probe to ``app`` as if asked for ``trusted_hosts[0]``; anything else as is."""

    def __init__(self, app: WSGIApplication, trusted_hosts: Sequence[str]) -> None:
        self.app = app
        # a leading dot (".example.com": the domain and its subdomains) is not a host name
        self.host = trusted_hosts[0].lstrip(".")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in PROBE_PATHS:
            environ["HTTP_HOST"] = self.host
        return self.app(environ, start_response)
