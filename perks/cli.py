"""The ``flask perks ...`` command group."""

from __future__ import annotations

import contextlib
import os

import click
from flask.cli import AppGroup

perks_cli = AppGroup("perks", help="Perks administration commands.")


@perks_cli.command("demo")
@click.option("--password", default=None, help="Password for every demo login.")
def demo_command(password: str | None) -> None:
    """Fill an empty database with a believable company, and print one login per role.

    Refused in production: its people are made up and its logins share a password the README
    prints, and a production database is empty until its first administrator.
    """
    from flask import current_app

    from perks.demo import DEMO_PASSWORD, seed_demo
    from perks.demo_activity import SandboxNotAnswering
    from perks.errors import PerksError

    if current_app.config["PERKS_ENV"] == "production":
        raise click.ClickException(
            "the demo company is for development and demos: it never seeds a production "
            "database (PERKS_ENV=production). Use create-admin for the first administrator."
        )
    password = DEMO_PASSWORD if password is None else password
    try:
        logins, created = seed_demo(password=password)
    except PerksError as error:  # a password the sign-up and reset pages would refuse
        raise click.ClickException(error.message) from error
    except SandboxNotAnswering as error:  # the operator's to start: a message, no traceback
        raise click.ClickException(f"{error}.") from error
    if created:
        click.echo("Demo data created.")
        click.echo(f"Demo logins (password: {password}):")
    else:  # their password is the one they were made with (or changed to), not this one
        click.echo("Demo data already present; nothing added, no password changed.")
        click.echo("Demo logins:")
    for role, email in logins:
        click.echo(f"  {role:<9} {email}")


@perks_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", show_default=True)
@click.password_option(help="Password (asked for when not given).")
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an administrator, or make an existing person one (idempotent)."""
    from perks.auth.admin import ensure_admin
    from perks.errors import PerksError

    try:
        user, created = ensure_admin(email, name=name, password=password)
    except PerksError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{'Created' if created else 'Updated'} administrator {user.email}.")


@perks_cli.command("import-people")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
@click.option(
    "--actor",
    "actor_email",
    metavar="EMAIL",
    default=None,
    help="Import as this person, within their rights. Default: the system (any role).",
)
@click.option(
    "--language",
    type=click.Choice(["vi", "en"]),
    default=None,
    help="Language of the messages. Default: the app's default language.",
)
def import_people_command(
    file: str, dry_run: bool, actor_email: str | None, language: str | None
) -> None:
    """Import people from an HR system's CSV FILE in one transaction.

    Every bad row is printed with its line number, and then nothing is written (exit 1).
    """
    from pathlib import Path

    from flask import current_app
    from flask_babel import force_locale, ngettext
    from flask_babel import gettext as _

    from perks.auth.services import find_user_by_email
    from perks.errors import PerksError, ValidationFailed
    from perks.i18n import format_number
    from perks.people import imports
    from perks.people.imports import RowError
    from perks.people.models import Role

    def echo_row_errors(errors: list[RowError]) -> None:
        for error in errors:
            message = _("line %(line)d: %(message)s", line=error.line, message=error.message)
            click.echo(message, err=True)

    with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            text = imports.decode_csv(Path(file).read_bytes())
        except PerksError as error:
            raise click.ClickException(error.message) from error
        actor = None
        if actor_email:
            actor = find_user_by_email(actor_email)
            if actor is None or not actor.active:
                raise click.ClickException(
                    _("No active person has the e-mail %(email)s.", email=actor_email)
                )
            if not actor.has_role(Role.HR):  # as the upload page: HR (and administrators)
                raise click.ClickException(
                    _(
                        "%(email)s may not import people: only HR and administrators can.",
                        email=actor.email,
                    )
                )

        plan = imports.plan_import(text, actor=actor)
        click.echo(
            ngettext(
                "%(count)s row: %(created)s to add, %(updated)s to update, "
                "%(unchanged)s unchanged.",
                "%(count)s rows: %(created)s to add, %(updated)s to update, "
                "%(unchanged)s unchanged.",
                plan.total_rows,
                count=format_number(plan.total_rows),
                created=format_number(plan.to_create),
                updated=format_number(plan.to_update),
                unchanged=format_number(plan.unchanged),
            )
        )
        if plan.new_departments:
            click.echo(_("New departments: %(names)s", names=", ".join(plan.new_departments)))
        for warning in plan.warnings:  # the file can be imported: said, not refused
            click.echo(_("line %(line)d: %(message)s", line=warning.line, message=warning.message))
        if plan.errors:
            echo_row_errors(plan.errors)
            raise click.ClickException(
                ngettext(
                    "%(count)s row cannot be imported; nothing was written.",
                    "%(count)s rows cannot be imported; nothing was written.",
                    len(plan.bad_lines),
                    count=format_number(len(plan.bad_lines)),
                )
            )
        if dry_run:
            click.echo(_("Dry run: nothing was written."))
            return

        def progress(done: int) -> None:
            click.echo(
                _(
                    "%(done)s / %(total)s rows",
                    done=format_number(done),
                    total=format_number(plan.total_rows),
                )
            )

        try:
            result = imports.apply_import(
                text, actor=actor, filename=Path(file).name, progress=progress
            )
        except ValidationFailed as error:
            echo_row_errors(error.detail_items("errors", RowError))
            raise click.ClickException(error.message) from error
        except PerksError as error:
            raise click.ClickException(error.message) from error
        click.echo(
            _(
                "Imported: %(created)s added, %(updated)s updated, %(unchanged)s unchanged, "
                "%(deactivated)s deactivated.",
                created=format_number(result.created),
                updated=format_number(result.updated),
                unchanged=format_number(result.unchanged),
                deactivated=format_number(result.deactivated),
            )
        )


@perks_cli.command("tick")
def tick_command() -> None:
    """Daily work: remind holders of unused claims a week before their last day, expire
    ended claims, end the unused claims of people whose leaving date has come (a draw seat
    passing to the waiting list), freeze the entries of draws that have closed and make
    the draws that can be made (a method 2 draw waits for its public value), make
    commissions payable once their holding period is over (after applying the leaving dates
    that have come: leavers are deactivated, the leaver policy applied, the final statement
    e-mailed), grant the gift programmes' gifts
    due today (and those missed days left), expire what ended months left of the points
    allowances and credit this month's, roll up yesterday's referral clicks for the company
    stats page, (PostgreSQL) make the coming months' click partitions and drop the expired
    ones already rolled up, delete the API's answers kept for an ``Idempotency-Key``
    longer than 24 hours, tell feedback owners of new items and escalate overdue ones, delete
    sessions that ended long ago, take up background jobs whose hand-over was lost or whose
    worker died, and last send every message that is due (what this run queued, and what an
    SMTP outage left): everything Celery beat runs, for cron.

    Idempotent, and safe to run from several hosts at once: each step is a conditional
    update or takes a row lock, so a second run finds nothing left to do.
    """
    from perks import background, mail
    from perks.api import idempotency
    from perks.auth import services as auth_services
    from perks.catalog import claims, draws
    from perks.catalog import leavers as catalog_leavers
    from perks.commissions import leavers, lifecycle
    from perks.feedback import targets
    from perks.recognition import gifts, points
    from perks.referrals.partitions import maintain_click_partitions
    from perks.referrals.rollup import roll_up_clicks
    from perks.referrals.snapshots import refresh_all

    click.echo(f"Claims reminded: {claims.remind_expiring_claims()}")
    click.echo(f"Claims expired: {claims.expire_claims()}")
    click.echo(f"Draw entries frozen: {draws.close_due_entries()}")
    click.echo(f"Draws made: {draws.make_due_draws()}")
    click.echo(f"Leavers' claims ended: {catalog_leavers.end_leavers_claims()}")
    settled = leavers.settle_leavers(claims.company_today())
    click.echo(
        f"Leavers settled: {settled.settled} (commissions vested: {settled.vested},"
        f" forfeited: {settled.forfeited})"
    )
    click.echo(f"Commissions made payable: {lifecycle.release_due_commissions()}")
    click.echo(f"Gifts granted: {gifts.grant_due_gifts(claims.company_today())}")
    expired, credited = points.settle_months(claims.company_today())
    click.echo(f"Points allowances expired: {expired}, credited: {credited}")
    click.echo(f"Days of referral clicks rolled up: {roll_up_clicks().days}")
    partitions = maintain_click_partitions()
    click.echo(
        f"Click partitions made: {len(partitions.created)}, dropped: {len(partitions.dropped)}"
    )
    click.echo(f"Overview snapshots refreshed: {refresh_all()}")
    click.echo(f"API answers forgotten: {idempotency.forget_old_keys()}")
    feedback = targets.sweep(claims.company_today())
    click.echo(f"Feedback owners told: {feedback.owners_told}, escalated: {feedback.escalated}")
    click.echo(f"Ended sessions deleted: {auth_services.purge_ended_sessions()}")
    click.echo(f"Background jobs taken up again: {background.resume_stalled_jobs()}")
    click.echo(f"Messages sent: {mail.send_due()}")


@perks_cli.command("verify-draw")
@click.argument("draw_id", type=click.IntRange(1, 2**63 - 1))
def verify_draw_command(draw_id: int) -> None:
    """Recompute a made draw from its public data, by the draw's own method; exit 1 if any
    check fails (a changed seed, entry, entries hash, public value, order or winner)."""
    from perks.catalog import draws
    from perks.errors import NotFound, PerksError

    try:
        result = draws.verify_draw(draw_id)
    except NotFound as error:
        raise click.ClickException(f"No draw {draw_id} exists.") from error
    except PerksError as error:
        raise click.ClickException(error.message) from error
    draw = draws.get_draw(draw_id)

    def check(text: str, passed: bool | None) -> None:
        if passed is not None:
            click.echo(f"{text}: {'yes' if passed else 'NO'}")

    click.echo(
        f"Draw {draw.id}: {len(draw.result)} entries, {draw.seats} seats, method {draw.method}"
    )
    click.echo(f"Commitment {draw.commitment}")
    click.echo(f"Seed       {draw.seed}")
    if draw.method >= 2:
        click.echo(
            f"Entries closed {draw.entries_close_at.isoformat()}, frozen "
            f"{draw.entries_frozen_at.isoformat() if draw.entries_frozen_at else '-'}"
        )
        click.echo(f"Entries hash {draw.entries_hash}")
        click.echo(
            f"Public value {draw.public_value} ({draw.public_value_source}, "
            f"{draw.public_value_date.isoformat() if draw.public_value_date else '-'})"
        )
    click.echo(f"Method     {draws.method_text(draw.method)}")
    check("SHA-256(seed) equals the commitment", result.commitment_matches)
    check("Entry keys are those of entries 1 to n of the commitment", result.keys_match)
    check("SHA-256 of the entries equals the published entries hash", result.entries_hash_matches)
    check("The public value is of a day after entries closed", result.value_after_close)
    check("Recomputed order equals the published one", result.order_matches)
    check("Places and winners follow the order", result.outcomes_match)
    if not result.ok:
        raise SystemExit(1)


@perks_cli.command("stripe-replay")
@click.argument("event_id")
def stripe_replay_command(event_id: str) -> None:
    """Apply the stored Stripe event EVENT_ID (evt_...) to its order again; audited.

    Facts the order already reflects are not recorded twice, so replaying is safe.
    """
    from perks.errors import NotFound
    from perks.payments import webhooks

    event_id = event_id.strip()
    if not event_id:
        raise click.BadParameter(
            "give the id of a stored event, like evt_...", param_hint="EVENT_ID"
        )
    try:
        stored = webhooks.replay(event_id, actor=None)
    except NotFound as error:
        raise click.ClickException(f"No Stripe event {event_id} is stored.") from error
    click.echo(f"{stored.event_id} {stored.type}: {stored.outcome.value} (replay {stored.replays})")
    click.echo(stored.detail.splitlines()[-1] if stored.detail else "")


@perks_cli.command("verify-ledger")
def verify_ledger_command() -> None:
    """Recompute every commission and balance from the ledger; exit 1 on any disagreement."""
    from perks.commissions.verify import verify_ledger

    report = verify_ledger()
    _report_checks(
        f"Checked {report.commissions} commissions, {report.entries} ledger entries, "
        f"{report.people} people.",
        report.problems,
        "The ledger agrees with every commission.",
    )


def _report_checks(checked: str, problems: list[str], agreed: str) -> None:
    """Print what a verify command checked and each problem; exit 1 if there is any."""
    click.echo(checked)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{_count(len(problems), 'disagreement')}.", err=True)
        raise SystemExit(1)
    click.echo(agreed)


@perks_cli.command("verify-points")
def verify_points_command() -> None:
    """Recompute every points balance from the ledger and what moved points; exit 1 on any
    disagreement."""
    from perks.recognition.points_verify import verify_points

    report = verify_points()
    _report_checks(
        f"Checked {report.entries} points entries, {report.kudos} kudos, {report.people} people.",
        report.problems,
        "Every points balance equals its ledger and never went below zero.",
    )


@perks_cli.command("export")
@click.argument(
    "export_name", metavar="commissions|ledger", type=click.Choice(["commissions", "ledger"])
)
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (company time).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option(
    "--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--currency", default=None, help="Only this currency (e.g. VND).")
@click.option("--language", type=click.Choice(["vi", "en"]), default=None, help="Product names.")
def export_command(
    export_name: str,
    start: str,
    end: str,
    file_format: str,
    output: str,
    currency: str | None,
    language: str | None,
) -> None:
    """Export commission lines or the ledger of a period to a CSV or XLSX file (audited).

    The columns are the same as on the exports page (see the README).
    """
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from perks.errors import PerksError
    from perks.finance import exports, reports
    from perks.finance.periods import custom_period, parse_day
    from perks.finance.reports import ReportFilter
    from perks.i18n import format_number

    locale = language or current_app.config["BABEL_DEFAULT_LOCALE"]
    code = (currency or "").strip().upper() or None
    with force_locale(locale):
        try:
            period = custom_period(parse_day(start), parse_day(end))
        except PerksError as error:
            raise click.ClickException(error.message) from error
        # the currencies the exports page offers (any other is refused there too): those of
        # commissions and adjustments, and the default one; one of them without rows in the
        # period gives a file with only its header, as the page does
        offered = reports.filter_choices(current_app.config["DEFAULT_CURRENCY"]).currencies
        if code is not None and code not in offered:
            raise click.ClickException(
                _(
                    "No commission or adjustment is in %(currency)s. "
                    "Choose one of: %(currencies)s.",
                    currency=code,
                    currencies=", ".join(offered),
                )
            )
    export = exports.EXPORTS[export_name]
    chosen = ReportFilter(period=period, currency=code)
    # written beside ``output``, which it replaces only once whole: an export that fails
    # half-way leaves the file that was there before
    partial = f"{output}.part"
    try:  # before anything is read or audited
        target = open(partial, "wb")  # noqa: SIM115 - closed below, after the export
    except OSError as error:
        raise click.ClickException(f"Cannot write {output}: {error.strerror}.") from error
    total = exports.count_rows(export, chosen)
    if file_format == "xlsx" and total > exports.XLSX_MAX_ROWS:
        target.close()
        os.remove(partial)
        with force_locale(locale):
            raise click.ClickException(
                _(
                    "A spreadsheet holds at most %(most)s rows; this export has %(rows)s. "
                    "Narrow the filter, or download it as CSV.",
                    most=format_number(exports.XLSX_MAX_ROWS),
                    rows=format_number(total),
                )
            )
    try:
        # the workbook's tab and title in the chosen language, as the exports page's are
        with (
            force_locale(locale),
            target,
            click.progressbar(length=total, label=f"{export_name} {file_format}") as bar,
        ):
            if file_format == "csv":
                for chunk in exports.stream_csv(
                    export, chosen, actor=None, locale=locale, progress=bar.update
                ):
                    target.write(chunk)
            else:
                exports.write_xlsx(
                    export, chosen, target, actor=None, locale=locale, progress=bar.update
                )
        os.replace(partial, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    click.echo(f"{_count(total, 'row')} written to {output}.")


@perks_cli.command("reconcile")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (company time).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (included).")
@click.option(
    "--stripe/--no-stripe",
    default=True,
    help="Also compare with Stripe's (or the sandbox's) lists of Checkout Sessions and refunds "
    "(default: yes; --no-stripe when it cannot be reached).",
)
@click.option(
    "--language",
    type=click.Choice(["vi", "en"]),
    default=None,
    help="Language of the messages and findings. Default: the app's default language.",
)
def reconcile_command(start: str, end: str, stripe: bool, language: str | None) -> None:
    """Compare the period's orders with the Stripe events stored (and Stripe's own list);
    print each finding; exit 1 if there is any."""
    from flask import current_app
    from flask_babel import force_locale, ngettext
    from flask_babel import gettext as _

    from perks.errors import PerksError
    from perks.finance import reconciliation
    from perks.finance.periods import custom_period, parse_day
    from perks.i18n import format_number
    from perks.payments import stripe_gateway

    # one language for every line: the findings' details are the reconciliation page's texts
    with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            period = custom_period(parse_day(start), parse_day(end))
        except PerksError as error:
            raise click.ClickException(error.message) from error
        sessions = refunds = None
        if stripe:
            try:
                sessions = list(
                    stripe_gateway.list_checkout_sessions(period.start_at, period.end_at)
                )
                refunds = list(stripe_gateway.list_refunds(period.start_at))
            except PerksError as error:
                raise click.ClickException(
                    _("Stripe could not be asked: %(reason)s", reason=error.message)
                ) from error
        result = reconciliation.reconcile(period, stripe_sessions=sessions, stripe_refunds=refunds)
        orders = format_number(result.orders_checked)
        if result.sessions_checked is None:
            checked = ngettext(
                "Checked %(orders)s order.",
                "Checked %(orders)s orders.",
                result.orders_checked,
                orders=orders,
            )
        else:
            checked = ngettext(
                "Checked %(orders)s order, %(sessions)s Stripe sessions, %(refunds)s refunds.",
                "Checked %(orders)s orders, %(sessions)s Stripe sessions, %(refunds)s refunds.",
                result.orders_checked,
                orders=orders,
                sessions=format_number(result.sessions_checked),
                refunds=format_number(result.refunds_checked or 0),
            )
        click.echo(checked)
        for finding in result.findings:
            where = finding.order_number or finding.session_id or ""
            click.echo(f"{finding.kind}\t{where}\t{finding.detail}")
        if not result.ok:
            count = len(result.findings)
            click.echo(
                ngettext(
                    "%(count)s finding.", "%(count)s findings.", count, count=format_number(count)
                ),
                err=True,
            )
            raise SystemExit(1)
        click.echo(_("Everything agrees."))


def _count(number: int, noun: str) -> str:
    """ "1 row", "2 rows": the operator's output, in English as every command's."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
