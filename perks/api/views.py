"""``/api/v1``: the JSON API. Every view calls the services and queries the pages call.

Authentication is a bearer token (``perks.api.tokens``), checked before each view with the
scope the view needs; a personal token reads its owner's data only (another person answers
404, as on the pages). Lists are paged by an opaque cursor (``next_cursor``), in id order.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import Response, current_app, g, json, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import BigInteger, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import UnprocessableEntity

from perks import counters
from perks.api import idempotency, schemas
from perks.api.models import ApiToken, Scope
from perks.api.problems import PROBLEM_JSON, register_problem_handlers
from perks.api.tokens import authenticate, presented_secret, remembered_last_use
from perks.api.validation import ApiParser
from perks.catalog import claims as claim_service
from perks.catalog import queries as catalog_queries
from perks.catalog.models import Claim
from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry
from perks.db import MAX_BIGINT_ID, MAX_ID, transaction
from perks.errors import Conflict, NotFound, PerksError, ValidationFailed
from perks.extensions import csrf, db, limiter
from perks.finance.models import BatchStatus, PayoutBatch, PayoutLine
from perks.i18n import company_today, day_start
from perks.people import imports
from perks.people.import_plan import COLUMNS, RowWarning, plan_rows
from perks.people.models import User
from perks.people.services import deactivate_person
from perks.shop import admin_queries, redemption
from perks.shop.models import Order

API_VERSION = "1"
BATCH_LIMIT = 1000


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, reading queries and JSON bodies with ``ApiParser``."""

    ARGUMENTS_PARSER = ApiParser()


bp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Perks for the HR system, the tills and payroll.",
)
csrf.exempt(bp)  # bearer tokens, never cookies: nothing for a forged form to ride on
register_problem_handlers(bp)

F = TypeVar("F", bound=Callable[..., Any])

#: every error an authenticated operation can answer, documented for each
ERRORS = (400, 401, 403, 404, 409, 422, 429)
#: and for an operation that reads a JSON body, a body of another type (``takes_json``)
BODY_ERRORS = (*ERRORS, 415)


def _token_key() -> str:
    """Rate-limit key: the token (its secret's hash), whoever presents it and however the
    header spells it (``presented_secret``: else each spelling would have a count of its
    own); without a header, the caller's address (else every caller of ``/health`` would
    share one count)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return "api-address:" + get_remote_address()
    presented = (presented_secret(header) or header).encode("utf-8", "replace")
    return "api:" + idempotency.hashlib.sha256(presented).hexdigest()[:32]


def _address_key() -> str:
    return get_remote_address()


# one count per token across every operation (a limit of the blueprint's own would count
# each operation apart: 600 a minute on each of them)
limiter.shared_limit(
    lambda: current_app.config["API_RATE_LIMIT"], scope="api-token", key_func=_token_key
)(bp)
# Each bad token has its own count above: failed authentications (401) are counted by address
# too, across every operation, else anyone could try tokens without end (a look-up each).
# Only a 401 is counted; once over, the address is refused (429) before any look-up.
limiter.shared_limit(
    lambda: current_app.config["API_AUTH_FAILURE_RATE_LIMIT"],
    scope="api-auth-failures",
    key_func=_address_key,
    deduct_when=lambda response: response.status_code == 401,
    error_message=lambda: _(
        "Too many requests with a missing or invalid token from this address. Wait a moment."
    ),
)(bp)


@bp.after_request
def _kept_out_of_caches(response: Response) -> Response:
    """Answers hold personal data and bearer voucher codes: no cache keeps them (the pages'
    rule, ``perks.security``, covers HTML only; the problems set their own)."""
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


#: the header every 401 carries (``problems.problem``), as the document shows it
CHALLENGE_DOC = {
    "WWW-Authenticate": {
        "description": "the scheme wanted: ``Bearer``",
        "schema": {"type": "string"},
        "required": True,
    }
}


#: the header every 429 carries (Flask-Limiter's, ``RATELIMIT_HEADERS_ENABLED``)
RETRY_DOC = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer"},
        "required": True,
    }
}
#: the headers an error answer carries, by its status
ERROR_HEADERS_DOC = {401: CHALLENGE_DOC, 429: RETRY_DOC}


def _documented(view: F, codes: Sequence[int]) -> F:
    for code in codes:
        headers = ERROR_HEADERS_DOC.get(code)
        view = bp.alt_response(
            code, schema=schemas.Problem, content_type=PROBLEM_JSON, headers=headers
        )(view)
    return view


def needs(scope: Scope, *, errors: Sequence[int] = ERRORS) -> Callable[[F], F]:
    """The view needs a live token holding ``scope`` (401 without one, 403 without the scope),
    as the document says (its security requirement names the scope)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            token = authenticate(request.headers.get("Authorization"))
            if scope.value not in token.scopes:
                from perks.errors import NotPermitted

                raise NotPermitted(
                    _("This token lacks the permission %(scope)s.", scope=scope.value)
                )
            g.api_token = token
            if remembered_last_use(token):
                # Committed now, once a minute at most; otherwise no commit, which would
                # make the request read the token and its owner again.
                with transaction():
                    pass
            return view(*args, **kwargs)

        documented = _documented(checked, errors)
        # OpenAPI 3.1 lets a bearer scheme's requirement name the roles it needs: the scope
        documented = bp.doc(security=[{"bearer": [scope.value]}])(documented)
        return documented

    return decorate


class NotJson(PerksError):
    """A body sent as something other than JSON (a form, plain text): it is not read."""

    status_code = 415


def takes_json(view: F) -> F:
    """The view reads a JSON body: a body of another type answers 415 saying so, where the
    request validation would read no body at all and name every field as missing (``curl
    -d`` sends a form unless told ``Content-Type: application/json``)."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        # The length, not the data: a form's data were read into ``request.form`` already.
        sent = request.content_length or request.get_data(cache=True)
        if sent and not request.is_json:
            raise NotJson(
                _(
                    "Send the body as JSON, with the header Content-Type: application/json "
                    "(this one was %(type)s).",
                    type=request.mimetype or _("without a type"),
                )
            )
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


#: the ``Idempotency-Key`` a write takes (``perks.api.idempotency``), as the document shows it
IDEMPOTENCY_DOC: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": idempotency.HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
            "description": "Any text naming this write (e.g. ``till-3-000127``): sent again "
            "with the same request within 24 hours, the first answer is replayed and nothing "
            "is done twice; with another request, 422; while the first is still being "
            "answered, 409.",
        }
    ],
    "responses": {
        200: {
            "headers": {
                "Idempotent-Replayed": {
                    "description": "``true`` when this is the answer kept for the key",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            }
        }
    },
}


def idempotent(view: F) -> F:
    """Document the ``Idempotency-Key`` the view's ``idempotency.run_once`` reads, and the
    413 of a body over the site's limit (``run_once`` reads the body, whatever the view)."""
    documented: F = bp.doc(**IDEMPOTENCY_DOC)(_documented(view, (413,)))
    return documented


def token() -> ApiToken:
    found: ApiToken = g.api_token
    return found


# --- cursors and people -----------------------------------------------------------------------


def _cursor_id(cursor: str | None, kind: str, largest: int = MAX_ID) -> int:
    """The id a cursor of the ``kind`` list names (0 without one), at most ``largest``, the
    id column's. A cursor names its list: another list's would read as a place in this one,
    skipping its rows up to that id.

    Raises:
        ValidationFailed: the cursor is not one ``_next_cursor`` writes for this list.
    """
    if not cursor:
        return 0
    try:
        named, _sep, number = (
            base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii").partition(":")
        )
        value = int(number) if named == kind else -1
    except (ValueError, UnicodeError, binascii.Error):
        value = -1
    if not 0 <= value <= largest:
        raise ValidationFailed(_("This cursor is not valid: use next_cursor as given."))
    return value


def _next_cursor(kind: str, last_id: int) -> str:
    written = f"{kind}:{last_id}".encode("ascii")
    return base64.urlsafe_b64encode(written).decode("ascii").rstrip("=")


def _page(
    statement: Select[Any], id_column: Any, args: dict[str, Any]
) -> tuple[list[Any], str | None]:
    """A page of ``statement``'s rows after the cursor, by ``id_column``; its cursors name
    the table (``_cursor_id``).

    Raises:
        ValidationFailed: the cursor is not one of this list's.
    """
    kind = str(id_column.table.name)
    # ledger entries have BIGINT ids: their cursors go past INTEGER's largest
    largest = MAX_BIGINT_ID if isinstance(id_column.type, BigInteger) else MAX_ID
    after = _cursor_id(args.get("cursor"), kind, largest)
    limit = int(args.get("limit") or 50)
    rows = list(
        db.session.scalars(statement.where(id_column > after).order_by(id_column).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _next_cursor(kind, rows[-1].id) if more and rows else None


def _person(employee_number: str) -> User:
    user = db.session.scalar(select(User).where(User.employee_number == employee_number))
    if user is None:
        raise NotFound(_("No person has the employee number %(number)s.", number=employee_number))
    return user


def _subject(args: dict[str, Any], *, required: bool = False) -> User | None:
    """Whose data to read: the owner of a personal token (asking for another person answers
    404), else the ``person`` asked for (None: everyone, unless ``required``)."""
    current = token()
    asked = args.get("person")
    if current.personal:
        if asked and asked != current.user.employee_number:
            raise NotFound(_("No person has the employee number %(number)s.", number=asked))
        return current.user
    if asked:
        return _person(asked)
    if required:
        raise ValidationFailed(_("Name the person: ?person=<employee number>."))
    return None


def _period(column: Any, args: dict[str, Any]) -> list[Any]:
    conditions = []
    if args.get("from_date"):
        conditions.append(column >= day_start(args["from_date"]))
    if args.get("to_date"):
        conditions.append(column < day_start(args["to_date"] + timedelta(days=1)))
    return conditions


def _rows_of_subject(
    model: type[Commission] | type[LedgerEntry], args: dict[str, Any], *conditions: Any
) -> tuple[list[Any], str | None]:
    """A page of ``model``'s rows (their people loaded) that meet ``conditions``: the
    subject's (``_subject``) and made in the period asked, by id."""
    person = _subject(args)
    statement = (
        select(model)
        .options(selectinload(model.user))
        .where(*conditions, *_period(model.created_at, args))
    )
    if person is not None:
        statement = statement.where(model.user_id == person.id)
    return _page(statement, model.id, args)


# --- health and version -----------------------------------------------------------------------


@bp.get("/health")
@bp.alt_response(429, schema=schemas.Problem, content_type=PROBLEM_JSON, headers=RETRY_DOC)
@bp.response(200, schemas.Health)
def health() -> dict[str, str]:
    """Liveness: the API answers (no token needed). ``/readyz`` names what is down."""
    return {"status": "ok"}


@bp.get("/version")
@bp.alt_response(429, schema=schemas.Problem, content_type=PROBLEM_JSON, headers=RETRY_DOC)
@bp.response(200, schemas.Version)
def version() -> dict[str, str]:
    """The API's version and the application's release (no token needed)."""
    return {"api": API_VERSION, "app": str(current_app.config.get("APP_VERSION", "dev"))}


# --- people -------------------------------------------------------------------------------------


def _person_out(user: User) -> dict[str, Any]:
    return {
        "employee_number": user.employee_number,
        "email": user.email,
        "name": user.name,
        "department": user.department.name if user.department else None,
        "location": user.location or None,
        "employment_type": user.employment_type.value,
        "hire_date": user.hire_date,
        "leaving_date": user.leaving_date,
        "language": user.locale,
        "roles": sorted(role.value for role in user.roles),
        "active": user.active,
    }


@bp.get("/people")
@needs(Scope.PEOPLE_READ)
@bp.arguments(schemas.PageArgs, location="query")
@bp.response(200, schemas.PeoplePage)
def list_people(args: dict[str, Any]) -> dict[str, Any]:
    """The directory, in id order."""
    rows, cursor = _page(select(User), User.id, args)
    return {"items": [_person_out(user) for user in rows], "next_cursor": cursor}


@bp.get("/people/<string:employee_number>")
@needs(Scope.PEOPLE_READ)
@bp.response(200, schemas.PersonOut)
def get_person(employee_number: str) -> dict[str, Any]:
    """One person by employee number."""
    return _person_out(_person(employee_number))


def people_cells(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The records as the CSV import reads a file: its header (the columns any record names,
    in the import's order) and each record's cells (a field a record leaves out or sets to
    null is an empty cell; roles joined by ";", active as yes or no)."""
    named = set().union(*(record.keys() for record in records)) if records else set()
    columns = [column for column in COLUMNS if column in named]
    roles_at = columns.index("roles") if "roles" in named else None
    active_at = columns.index("active") if "active" in named else None
    rows = []
    for record in records:
        # The schema let through text or null only, but for the roles and active.
        row = [record.get(name) or "" for name in columns]
        if roles_at is not None:
            roles = record.get("roles")
            row[roles_at] = ";".join(str(role) for role in roles) if roles else ""
        if active_at is not None:
            active = record.get("active")
            row[active_at] = "" if active is None else "yes" if active else "no"
        rows.append(row)
    return columns, rows


def people_csv(records: Sequence[dict[str, Any]]) -> str:
    """The records as the CSV file the import would read the same way (``people_cells``)."""
    columns, rows = people_cells(records)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _record_errors(
    errors: Sequence[Any], records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The import's problems by record: its index in the batch, its employee number, why."""
    found = []
    for error in errors:
        index = error.line - 2  # line 1 is the header
        number = records[index].get("employee_number") if 0 <= index < len(records) else None
        found.append({"index": index, "employee_number": number, "message": error.message})
    return found


def _record_warnings(
    warnings: Sequence[RowWarning], records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The import's warnings by record, as ``_record_errors`` names its problems."""
    return [
        {**found, "code": warning.code}
        for warning, found in zip(warnings, _record_errors(warnings, records), strict=True)
    ]


def upsert_people(records: Sequence[dict[str, Any]], *, dry_run: bool) -> dict[str, Any]:
    """Create or update people by employee number, with the CSV import's rules, all or none.
    The records go to the import's planner and writer as cells (``people_cells``), never
    through CSV text. A write is flushed only: the caller commits (``idempotency.run_once``).

    Raises:
        ValidationFailed: some record is bad (nothing written); ``details["errors"]`` names
            every one (index in the batch, employee number, reason).
        Conflict: the directory changed while the batch was written (another batch sent at
            the same moment added the same department, say): the batch may be sent again.
    """
    columns, rows = people_cells(records)
    actor = token().user
    if dry_run:
        plan = plan_rows(columns, rows, actor=actor)
        db.session.rollback()
        if plan.errors:
            raise ValidationFailed(
                _("Some records cannot be imported; see errors."),
                errors=_record_errors(plan.errors, records),
            )
        return {
            "dry_run": True,
            "total": plan.total_rows,
            "created": plan.to_create,
            "updated": plan.to_update,
            "unchanged": plan.unchanged,
            "departments_created": list(plan.new_departments),
            "warnings": _record_warnings(plan.warnings, records),
        }
    try:
        # Flushed only: committed by ``idempotency.run_once`` with its audit event and the
        # answer kept for the key, one transaction for the whole request.
        result = imports.import_rows(columns, rows, actor=actor, filename=f"API: {token().label}")
    except ValidationFailed as error:
        db.session.rollback()
        raise ValidationFailed(
            _("Some records cannot be imported; see errors."),
            errors=_record_errors(error.details.get("errors") or [], records),  # type: ignore[arg-type]
        ) from error
    except Conflict as error:
        db.session.rollback()
        if isinstance(error.__cause__, IntegrityError):  # the import's words speak of a file
            raise Conflict(
                _(
                    "The directory changed while this batch was written (another batch sent "
                    "at the same moment?). Nothing was written: send it again."
                )
            ) from error
        raise
    except BaseException:
        db.session.rollback()
        raise
    return {"dry_run": False, "total": len(records), **result.as_dict()} | {
        "departments_created": list(result.departments_created),
        "warnings": _record_warnings(result.warnings, records),
    }


def _json_response(body: Any, schema: type[Schema], status: int = 200) -> Response:
    """``body`` as ``schema`` shows it (for the answers kept for an ``Idempotency-Key``)."""
    return Response(json.dumps(schema().dump(body)), status=status, mimetype="application/json")


@bp.post("/people")
@idempotent
@needs(Scope.PEOPLE_WRITE, errors=BODY_ERRORS)
@takes_json
@bp.arguments(schemas.PeopleBatch)
@bp.response(200, schemas.UpsertResult)
def upsert_batch(args: dict[str, Any]) -> Response:
    """Create or update up to 1,000 people by employee number, as the CSV import does
    (matched on the employee number, else the e-mail). All or nothing: every bad record is
    named with its reason. ``dry_run`` checks without writing. ``warnings`` names each record
    that was written but calls for a word (the only active administrator given a leaving
    date), as the people pages warn. Sending the same batch again changes nothing; an
    ``Idempotency-Key`` replays the first answer for 24 hours."""
    records = args["people"]
    if args["dry_run"]:
        return _json_response(upsert_people(records, dry_run=True), schemas.UpsertResult)
    return idempotency.run_once(
        token(),
        "api.people_upserted",
        lambda: _json_response(upsert_people(records, dry_run=False), schemas.UpsertResult),
        count=len(records),
    )


def _refuse_employee_number(message: str) -> NoReturn:
    """Answer 422 naming the employee number, as the request validation names a bad field
    (``problems.http_problem``).

    Raises:
        UnprocessableEntity: always, with the field's message as flask-smorest's ``abort``
            gives it.
    """
    refused = UnprocessableEntity()
    refused.data = {"messages": {"json": {"employee_number": [message]}}}  # type: ignore[attr-defined]
    raise refused


@bp.put("/people/<string:employee_number>")
@idempotent
@needs(Scope.PEOPLE_WRITE, errors=BODY_ERRORS)
@takes_json
@bp.arguments(schemas.PersonPut)
@bp.response(200, schemas.UpsertResult)
def upsert_one(record: dict[str, Any], employee_number: str) -> Response:
    """Create or update one person, named by the path: the body may leave the employee
    number out; one that differs from the path's is refused (422), never overruled.
    ``warnings`` is as for a batch (the record's index is 0). A path of spaces names
    nobody (422): the import would match the record by its e-mail instead."""
    sent = record.get("employee_number")
    if not employee_number.strip():
        _refuse_employee_number(_("The path must name an employee number."))
    if sent is not None and sent.strip() != employee_number.strip():
        _refuse_employee_number(
            _(
                "The employee number must be the one in the path (%(number)s), or be left out.",
                number=employee_number,
            )
        )
    record["employee_number"] = employee_number
    return idempotency.run_once(
        token(),
        "api.person_upserted",
        lambda: _json_response(upsert_people([record], dry_run=False), schemas.UpsertResult),
        employee_number=employee_number,
    )


@bp.post("/people/<string:employee_number>/deactivate")
@idempotent
@needs(Scope.PEOPLE_WRITE)
@bp.response(200, schemas.PersonOut)
def deactivate(employee_number: str) -> Response:
    """Offboard: the person can no longer sign in, and every session ends (as the people
    page's Deactivate)."""

    def write() -> Response:
        person = _person(employee_number)
        if person.active:
            deactivate_person(person, actor=token().user)
        return _json_response(_person_out(person), schemas.PersonOut)

    return idempotency.run_once(
        token(), "api.person_deactivated", write, employee_number=employee_number
    )


# --- perks and claims ---------------------------------------------------------------------------


@bp.get("/perks")
@needs(Scope.PERKS_READ)
@bp.arguments(schemas.CatalogArgs, location="query")
@bp.response(200, schemas.PerkList)
def catalog(args: dict[str, Any]) -> dict[str, Any]:
    """The perks a person may claim today, each with the reasons they cannot (the catalog
    page's rules). A service token names the person (``?person=``)."""
    person = _subject(args, required=True)
    assert person is not None
    locale = str(get_locale() or "vi")
    cards = catalog_queries.catalog_cards(person, "", None, False, company_today(), locale=locale)
    return {
        "person": person.employee_number,
        "items": [
            {
                "id": card.perk.id,
                "title": card.perk.localized("title", locale),
                "partner": card.perk.partner_name,
                "category": card.perk.category.value,
                "available": card.available,
                "can_claim": card.can_claim,
                "reasons": [{"code": r.code, "message": r.message} for r in card.reasons],
            }
            for card in cards
        ],
    }


def shows_claim_codes(current: ApiToken) -> bool:
    """Whether ``current`` may read claims' references: the code the QR code carries and a
    counter redeems, a bearer voucher. Only a till's token (``redemptions:write``, which may
    redeem any code anyway) and a person's own token (their own claims) are given them; a
    read-only integration reads null."""
    return current.personal or Scope.REDEMPTIONS_WRITE.value in current.scopes


def _claim_out(claim: Claim, *, with_code: bool) -> dict[str, Any]:
    return {
        "id": claim.id,
        "reference": claim.reference if with_code else None,
        "perk_id": claim.perk_id,
        "perk": claim.perk.localized("title"),
        "person": claim.user.employee_number,
        "status": claim.status.value,
        "claimed_at": claim.claimed_at,
        "used_at": claim.used_at,
        "used_by": claim.used_by.name if claim.used_by else None,
        "expires_on": claim.expires_on,
    }


@bp.get("/claims")
@needs(Scope.PERKS_READ)
@bp.arguments(schemas.PeriodFilter, location="query")
@bp.response(200, schemas.ClaimPage)
def list_claims(args: dict[str, Any]) -> dict[str, Any]:
    """Claims, by person (``?person=``; a personal token: its owner's) and claim date. The
    ``reference`` (the voucher code a counter redeems) is null unless the token may redeem
    (``redemptions:write``) or is the claim owner's personal token."""
    person = _subject(args)
    statement = select(Claim).options(selectinload(Claim.user), selectinload(Claim.used_by))
    if person is not None:
        statement = statement.where(Claim.user_id == person.id)
    statement = statement.where(*_period(Claim.claimed_at, args))
    rows, cursor = _page(statement, Claim.id, args)
    with_code = shows_claim_codes(token())
    return {
        "items": [_claim_out(claim, with_code=with_code) for claim in rows],
        "next_cursor": cursor,
    }


# --- the counters ---------------------------------------------------------------------------


def _not_here(error: NotFound, code: str, here: str) -> NotFound:
    """A code this counter does not know, with the counter that does (as the pages say)."""
    other = counters.elsewhere(code, here=here)
    if other is None:
        return error
    return NotFound(error.message, elsewhere={"message": other.message, "url": other.url})


def _verdict(problem: str | None, *, just_redeemed: bool) -> dict[str, Any]:
    """What a till reads first: a look-up says whether the code can be used, else why; a
    redemption that went through says so (``redeemed``), never "not redeemable"."""
    if just_redeemed:
        return {"redeemed": True}
    return {"redeemable": problem is None, "problem": problem}


def _counter_claim(claim: Claim, *, just_redeemed: bool = False) -> dict[str, Any]:
    problem = None if just_redeemed else claim_service.why_not_usable(claim)
    return {
        "reference": claim.reference,
        "perk": claim.perk.localized("title"),
        "person": claim.user.name,
        "status": claim.status.value,
        **_verdict(problem, just_redeemed=just_redeemed),
        "used_at": claim.used_at,
        "used_by": claim.used_by.name if claim.used_by else None,
    }


def _counter_order(order: Order, *, just_redeemed: bool = False) -> dict[str, Any]:
    problem = None if just_redeemed else redemption.why_not_redeemable(order)
    return {
        "number": order.number,
        "redemption_code": order.redemption_code,
        "status": order.status.value,
        "customer": order.customer_first_name,
        **_verdict(problem, just_redeemed=just_redeemed),
        "redeemed_at": order.redeemed_at,
        "redeemed_by": order.redeemed_by.name if order.redeemed_by else None,
        "lines": [
            {"product": line.product_name, "quantity": line.quantity} for line in order.lines
        ],
    }


def _find_claim(code: str) -> Claim:
    try:
        return claim_service.find_claim_by_code(code)
    except NotFound as error:
        raise _not_here(error, code, "claims") from error


def _find_order(code: str) -> Order:
    try:
        return admin_queries.order_for_redeemer(code)
    except NotFound as error:
        raise _not_here(error, code, "orders") from error


@bp.get("/counters/claims/<string:code>")
@needs(Scope.REDEMPTIONS_WRITE)
@bp.response(200, schemas.CounterClaim)
def look_up_claim(code: str) -> dict[str, Any]:
    """A perk claim by its reference or pool code, as the perk counter shows it: whether it
    can be used, else why (already used: when and by whom)."""
    return _counter_claim(_find_claim(code))


@bp.post("/counters/claims/<string:code>/redeem")
@idempotent
@needs(Scope.REDEMPTIONS_WRITE)
@bp.response(200, schemas.RedeemedClaim)
def redeem_claim(code: str) -> Response:
    """Mark a claim used at the counter, in the token maker's name: 200 is success
    (``redeemed`` true, with when and by whom). Once: a second time answers 409 with when
    and by whom (an ``Idempotency-Key`` replays the first answer)."""

    def write() -> Response:
        _find_claim(code)  # a code of another counter says so
        claim = claim_service.redeem_claim(code, token().user)
        return _json_response(_counter_claim(claim, just_redeemed=True), schemas.RedeemedClaim)

    return idempotency.run_once(token(), "api.claim_redeemed", write, code=code[:64])


@bp.get("/counters/orders/<string:code>")
@needs(Scope.REDEMPTIONS_WRITE)
@bp.response(200, schemas.CounterOrder)
def look_up_order(code: str) -> dict[str, Any]:
    """A shop order by its redemption code, as the order counter shows it."""
    return _counter_order(_find_order(code))


@bp.post("/counters/orders/<string:code>/redeem")
@idempotent
@needs(Scope.REDEMPTIONS_WRITE)
@bp.response(200, schemas.RedeemedOrder)
def redeem_order(code: str) -> Response:
    """Mark an order redeemed at the counter, in the token maker's name: 200 is success
    (``redeemed`` true, with when and by whom). Once: a second time answers 409 with when
    and by whom (an ``Idempotency-Key`` replays the first answer)."""

    def write() -> Response:
        _find_order(code)
        order = redemption.redeem_order(admin_queries.scanned_code(code), token().user)
        return _json_response(
            _counter_order(
                admin_queries.order_for_redeemer(order.redemption_code), just_redeemed=True
            ),
            schemas.RedeemedOrder,
        )

    return idempotency.run_once(token(), "api.order_redeemed", write, code=code[:64])


# --- commissions, ledger, payouts ---------------------------------------------------------------


@bp.get("/commissions")
@needs(Scope.COMMISSIONS_READ)
@bp.arguments(schemas.CommissionArgs, location="query")
@bp.response(200, schemas.CommissionPage)
def list_commissions(args: dict[str, Any]) -> dict[str, Any]:
    """Commissions by person, state and the day they were made."""
    state = [Commission.state == CommissionState(args["state"])] if args.get("state") else []
    rows, cursor = _rows_of_subject(Commission, args, *state)
    items = [
        {
            "id": c.id,
            "person": c.user.employee_number,
            "order_id": c.order_id,
            "product_id": c.product_id,
            "state": c.state.value,
            "amount": c.amount,
            "currency": c.currency,
            "created_at": c.created_at,
            "earned_at": c.earned_at,
            "payable_at": c.payable_at,
            "paid_at": c.paid_at,
        }
        for c in rows
    ]
    return {"items": items, "next_cursor": cursor}


@bp.get("/ledger-entries")
@needs(Scope.COMMISSIONS_READ)
@bp.arguments(schemas.LedgerArgs, location="query")
@bp.response(200, schemas.LedgerPage)
def list_ledger(args: dict[str, Any]) -> dict[str, Any]:
    """The commission ledger's entries by person, kind and day."""
    kind = [LedgerEntry.kind == EntryKind(args["kind"])] if args.get("kind") else []
    rows, cursor = _rows_of_subject(LedgerEntry, args, *kind)
    items = [
        {
            "id": e.id,
            "person": e.user.employee_number,
            "commission_id": e.commission_id,
            "kind": e.kind.value,
            "amount": e.amount,
            "currency": e.currency,
            "created_at": e.created_at,
            "payout_batch_id": e.payout_batch_id,
        }
        for e in rows
    ]
    return {"items": items, "next_cursor": cursor}


def _batch_out(batch: PayoutBatch, person: User | None) -> dict[str, Any]:
    lines = [line for line in batch.lines if person is None or line.user_id == person.id]
    return {
        "id": batch.id,
        "reference": batch.reference,
        "status": batch.status.value,
        "cutoff_date": batch.cutoff_date,
        "approved_at": batch.approved_at,
        "paid_at": batch.paid_at,
        "payment_reference": batch.payment_reference,
        "lines": [
            {
                "person": line.user.employee_number,
                "email": line.user.email,
                "amount": line.amount,
                "currency": line.currency,
                "status": line.status.value,
                "entry_count": line.entry_count,
                **_tax_of(line),
            }
            for line in lines
        ],
    }


def _tax_of(line: PayoutLine) -> dict[str, Any]:
    """A paid line's tax as recorded; nothing before (assessed on the payment day)."""
    if not line.tax_treatment:
        return {"tax_treatment": None, "tax_withheld": None, "net": None}
    return {
        "tax_treatment": line.tax_treatment,
        "tax_withheld": line.withheld_amount,
        "net": line.amount - line.withheld_amount,
    }


@bp.get("/payout-batches")
@needs(Scope.PAYOUTS_READ)
@bp.arguments(schemas.PayoutArgs, location="query")
@bp.response(200, schemas.PayoutPage)
def list_payouts(args: dict[str, Any]) -> dict[str, Any]:
    """Payout batches with their lines, by status, cut-off day and person (for payroll)."""
    person = _person(args["person"]) if args.get("person") else None
    statement = select(PayoutBatch).options(selectinload(PayoutBatch.lines))
    if args.get("status"):
        statement = statement.where(PayoutBatch.status == BatchStatus(args["status"]))
    if args.get("from_date"):
        statement = statement.where(PayoutBatch.cutoff_date >= args["from_date"])
    if args.get("to_date"):
        statement = statement.where(PayoutBatch.cutoff_date <= args["to_date"])
    if person is not None:
        statement = statement.where(
            PayoutBatch.id.in_(select(PayoutLine.batch_id).where(PayoutLine.user_id == person.id))
        )
    rows, cursor = _page(statement, PayoutBatch.id, args)
    return {"items": [_batch_out(batch, person) for batch in rows], "next_cursor": cursor}


@bp.get("/payout-batches/<string:reference>")
@needs(Scope.PAYOUTS_READ)
@bp.response(200, schemas.PayoutBatchOut)
def get_payout(reference: str) -> dict[str, Any]:
    """One payout batch with its lines."""
    batch = db.session.scalar(select(PayoutBatch).where(PayoutBatch.reference == reference))
    if batch is None:
        raise NotFound(_("There is no such payout batch."))
    return _batch_out(batch, None)
