"""The sandbox's REST API: the subset of Stripe's ``/v1`` the product uses.

Served at ``/v1`` (so ``StripeClient(base_addresses={"api": "http://127.0.0.1:5002"})``
reaches it as it would ``https://api.stripe.com``), form-encoded like Stripe, authenticated
with the configured ``sk_test_`` key (Bearer, or Basic as ``curl -u sk_test_...:`` sends it),
exempt from CSRF (it is an API for programs, with its own key), answering Stripe's JSON and
Stripe's errors.
A POST with an ``Idempotency-Key`` is saved with its response in the same transaction as
its effects: a retry with the same parameters replays it (``Idempotent-Replayed: true``),
different parameters are refused (400, ``idempotency_error``).

Endpoints: ``POST /checkout/sessions``, ``GET /checkout/sessions`` (list),
``GET /checkout/sessions/<id>``, ``POST /checkout/sessions/<id>/expire``,
``GET /checkout/sessions/<id>/line_items``, ``POST /refunds``, and ``GET`` (list and one) of
``refunds``, ``payment_intents``, ``charges``, ``disputes``, ``events``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, request, url_for
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from stripe_sandbox import objects, operations, store, webhooks
from stripe_sandbox.errors import StripeApiError, invalid_parameter, no_such
from stripe_sandbox.params import Params, canonical, decode_form
from stripe_sandbox.service import current_settings
from stripe_sandbox.settings import SandboxSettings

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/v1")

#: the collections served by the generic list and retrieve endpoints, and their objects
COLLECTIONS = {
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "events": "event",
}
_COLLECTION_RULE = "<any(" + ", ".join(COLLECTIONS) + "):collection>"


# --- requests and responses -----------------------------------------------------------------


def request_settings() -> SandboxSettings:
    settings: SandboxSettings = g.sandbox_settings
    return settings


def _api_key() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


def _masked(key: str) -> str:
    return f"{key[:8]}{'*' * 12}{key[-4:]}" if len(key) > 12 else "*" * len(key)


@bp.before_request
def authenticate() -> None:
    """Only the configured ``sk_test_`` key gets in: 401 in Stripe's words otherwise.

    Raises:
        StripeApiError: no key, or another key.
    """
    g.sandbox_request_id = objects.new_id("req", 14)
    settings = current_settings()
    key = _api_key()
    if not key:
        raise StripeApiError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
            status=401,
        )
    if not hmac.compare_digest(key.encode(), settings.secret_key.encode()):
        raise StripeApiError(f"Invalid API Key provided: {_masked(key)}", status=401)
    g.sandbox_settings = settings
    webhooks.ensure_worker(settings)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = current_app.response_class(
        json.dumps(body, indent=2, ensure_ascii=False), status=status, mimetype="application/json"
    )
    response.headers["Request-Id"] = g.get("sandbox_request_id", "")
    response.headers["Stripe-Version"] = (
        request.headers.get("Stripe-Version") or objects.DEFAULT_API_VERSION
    )
    response.headers["Cache-Control"] = "no-cache, no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(StripeApiError)
def stripe_error(error: StripeApiError) -> Response:
    headers = {"Www-Authenticate": 'Bearer realm="Stripe"'} if error.status == 401 else None
    return json_response(error.body(g.get("sandbox_request_id")), error.status, headers)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    return json_response(
        {"error": {"type": "invalid_request_error", "message": error.description}}, status
    )


def _params(source: Any) -> dict[str, Any]:
    return decode_form(source.items(multi=True))


def form_params() -> dict[str, Any]:
    """The request's form-encoded parameters, nested by their brackets."""
    return _params(request.form)


def _context() -> operations.Context:
    return operations.Context(
        settings=request_settings(),
        request_id=g.sandbox_request_id,
        idempotency_key=request.headers.get("Idempotency-Key") or None,
        api_version=request.headers.get("Stripe-Version") or None,
    )


def idempotent_post(
    action: Callable[[Connection, operations.Context, Params], dict[str, Any]],
) -> Response:
    """Run a POST once per idempotency key: its effects and its saved response commit together.

    Raises:
        StripeApiError: the action's refusal (nothing saved, so a corrected retry may reuse
            the key), or the key reused for another endpoint or other parameters.
    """
    decoded = form_params()
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > 255:
        raise invalid_parameter("Idempotency-Key", "Idempotency keys can be at most 255 long.")
    path = request.path
    params_text = canonical(decoded)
    st = store.get_store(request_settings().database_url)
    for attempt in range(3):
        ctx = _context()
        try:
            with st.write() as conn:
                if key is not None:
                    saved = store.idempotent_response(conn, key)
                    if (
                        saved is not None
                        and saved.created > ctx.now - store.IDEMPOTENCY_KEY_LIFETIME
                    ):
                        return _replay(saved, key, request.method, path, params_text)
                    if saved is not None:  # older than Stripe keeps keys: forget it
                        store.forget_old_idempotency_keys(conn, ctx.now)
                body = action(conn, ctx, Params(decoded))
                if key is not None:
                    store.save_idempotent_response(
                        conn,
                        key,
                        method=request.method,
                        path=path,
                        params=params_text,
                        status_code=200,
                        response=json.dumps(body, ensure_ascii=False),
                        now=ctx.now,
                    )
        except IntegrityError:
            # The same key committed by a concurrent request: the next round replays it.
            if attempt == 2:
                raise
            continue
        if ctx.deliveries:
            webhooks.wake(ctx.settings)
        return json_response(body)
    raise AssertionError("unreachable")


def _replay(saved: Any, key: str, method: str, path: str, params_text: str) -> Response:
    if (saved.method, saved.path) != (method, path):
        raise StripeApiError(
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{saved.method} {saved.path}' vs "
            f"'{method} {path}'). Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            type="idempotency_error",
        )
    if saved.params != params_text:
        raise StripeApiError(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            type="idempotency_error",
        )
    return json_response(
        json.loads(saved.response),
        saved.status_code,
        {"Idempotent-Replayed": "true", "Original-Request": g.sandbox_request_id},
    )


def _read(action: Callable[[Connection, Params], dict[str, Any]]) -> Response:
    params = Params(_params(request.args))
    with store.get_store(request_settings().database_url).read() as conn:
        body = action(conn, params)
    return json_response(body)


def _sweep_due() -> None:
    """Expire and settle what is due before answering, as Stripe's own clock would have."""
    webhooks.run_sweep(request_settings())


def _expand(params: Params) -> list[str]:
    return params.strings("expand")


def _list_page(
    conn: Connection,
    params: Params,
    object_type: str,
    url: str,
    filters: Callable[[Connection, Params], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    limit = params.integer("limit", minimum=1, maximum=100) or 10
    created = params.range_filter("created")
    cursors = {}
    for name in ("starting_after", "ending_before"):
        object_id = params.string(name, max_length=255)
        if object_id is not None:
            cursor = store.load(conn, object_id, object_type)
            if cursor is None:
                raise no_such(object_type, object_id, name)
            cursors[name] = cursor.seq
    extra = filters(conn, params) if filters else {}
    expand = _expand(params)
    params.finish()
    rows, has_more = store.page(
        conn,
        object_type,
        limit=limit,
        created=created,
        starting_after=cursors.get("starting_after"),
        ending_before=cursors.get("ending_before"),
        **extra,
    )
    item_paths = [p.removeprefix("data.") for p in expand if p.startswith("data.")]
    if len(item_paths) != len(expand):
        raise invalid_parameter("expand", "List items are expanded with data.<field>.")
    data = [operations.expand_object(conn, row, item_paths) for row in rows]
    return objects.list_object(url, data, has_more)


def _by_payment(conn: Connection, params: Params) -> dict[str, Any]:
    """``payment_intent=`` or ``charge=`` as the payment intent to filter on."""
    intent = params.string("payment_intent", max_length=255)
    charge_id = params.string("charge", max_length=255)
    if charge_id is not None:
        charge = store.load(conn, charge_id, "charge")
        if charge is None:
            raise no_such("charge", charge_id, "charge")
        if intent is not None and intent != charge.data["payment_intent"]:
            return {"payment_intent": "-"}  # nothing matches both
        intent = charge.data["payment_intent"]
    return {"payment_intent": intent} if intent is not None else {}


def _collection_filters(collection: str) -> Callable[[Connection, Params], dict[str, Any]]:
    if collection in ("refunds", "charges", "disputes"):
        return _by_payment
    if collection == "events":
        return lambda conn, params: (
            {"status": t} if (t := params.string("type", max_length=80)) else {}
        )
    return lambda conn, params: {}


# --- checkout sessions ----------------------------------------------------------------------


@bp.post("/checkout/sessions")
def create_checkout_session() -> Response:
    def hosted_url(session_id: str) -> str:
        # Stripe's page is on Stripe's host; the sandbox's on the host it was asked at.
        return url_for("pages.checkout_page", session_id=session_id, _external=True)

    return idempotent_post(
        lambda conn, ctx, params: operations.create_checkout_session(
            conn, ctx, params, hosted_url=hosted_url
        )
    )


@bp.get("/checkout/sessions")
def list_checkout_sessions() -> Response:
    _sweep_due()

    def session_filters(conn: Connection, params: Params) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        intent = params.string("payment_intent", max_length=255)
        if intent is not None:
            filters["payment_intent"] = intent
        status = params.choice("status", ["open", "complete", "expired"])
        if status is not None:
            filters["status"] = status
        return filters

    return _read(
        lambda conn, params: _list_page(
            conn, params, "checkout.session", "/v1/checkout/sessions", session_filters
        )
    )


@bp.get("/checkout/sessions/<session_id>")
def retrieve_checkout_session(session_id: str) -> Response:
    _sweep_due()

    def retrieve(conn: Connection, params: Params) -> dict[str, Any]:
        expand = _expand(params)
        params.finish()
        session = store.load(conn, session_id, "checkout.session")
        if session is None:
            raise no_such("checkout.session", session_id, "session")
        return operations.expand_object(conn, session, expand)

    return _read(retrieve)


@bp.post("/checkout/sessions/<session_id>/expire")
def expire_checkout_session(session_id: str) -> Response:
    def expire(conn: Connection, ctx: operations.Context, params: Params) -> dict[str, Any]:
        expand = _expand(params)
        params.finish()
        operations.expire_checkout_session(conn, ctx, session_id)
        session = store.load(conn, session_id, "checkout.session")
        assert session is not None
        return operations.expand_object(conn, session, expand)

    return idempotent_post(expire)


@bp.get("/checkout/sessions/<session_id>/line_items")
def list_line_items(session_id: str) -> Response:
    def line_items(conn: Connection, params: Params) -> dict[str, Any]:
        params.integer("limit", minimum=1, maximum=100)
        params.string("starting_after")
        params.string("ending_before")
        params.strings("expand")
        params.finish()
        session = store.load(conn, session_id, "checkout.session")
        if session is None:
            raise no_such("checkout.session", session_id, "session")
        return objects.list_object(
            f"/v1/checkout/sessions/{session_id}/line_items",
            session.extra.get("line_items", []),
            False,
        )

    return _read(line_items)


# --- refunds and the other objects ----------------------------------------------------------


@bp.post("/refunds")
def create_refund() -> Response:
    return idempotent_post(operations.create_refund)


@bp.get("/" + _COLLECTION_RULE)
def list_objects(collection: str) -> Response:
    object_type = COLLECTIONS[collection]
    return _read(
        lambda conn, params: _list_page(
            conn, params, object_type, f"/v1/{collection}", _collection_filters(collection)
        )
    )


@bp.get("/" + _COLLECTION_RULE + "/<object_id>")
def retrieve_object(collection: str, object_id: str) -> Response:
    object_type = COLLECTIONS[collection]

    def retrieve(conn: Connection, params: Params) -> dict[str, Any]:
        expand = _expand(params)
        params.finish()
        found = store.load(conn, object_id, object_type)
        if found is None:
            raise no_such(object_type, object_id)
        return operations.expand_object(conn, found, expand)

    return _read(retrieve)


@bp.route("/<path:rest>", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
def unknown_url(rest: str) -> Response:
    """What the sandbox does not serve: Stripe's 404 for an unrecognized URL."""
    raise StripeApiError(
        f"Unrecognized request URL ({request.method}: /v1/{rest}). The Stripe sandbox serves "
        "only the endpoints Perks uses.",
        status=404,
    )
