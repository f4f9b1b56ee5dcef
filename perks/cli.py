"""The ``flask perks ...`` command group."""

from __future__ import annotations

import click
from flask.cli import AppGroup

perks_cli = AppGroup("perks", help="Perks administration commands.")


@perks_cli.command("demo")
@click.option("--password", default=None, help="Password for every demo login.")
def demo_command(password: str | None) -> None:
    """Fill an empty database with a believable company, and print one login per role."""
    from perks.demo import DEMO_PASSWORD, seed_demo

    password = password or DEMO_PASSWORD
    logins, created = seed_demo(password=password)
    click.echo("Demo data created." if created else "Demo data already present; nothing added.")
    click.echo(f"Demo logins (password: {password}):")
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
    from perks.people import imports
    from perks.people.imports import RowError

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

        plan = imports.plan_import(text, actor=actor)
        click.echo(
            _(
                "%(rows)d rows: %(created)d to add, %(updated)d to update, "
                "%(unchanged)d unchanged.",
                rows=plan.total_rows,
                created=plan.to_create,
                updated=plan.to_update,
                unchanged=plan.unchanged,
            )
        )
        if plan.new_departments:
            click.echo(_("New departments: %(names)s", names=", ".join(plan.new_departments)))
        if plan.errors:
            echo_row_errors(plan.errors)
            raise click.ClickException(
                ngettext(
                    "%(num)d row cannot be imported; nothing was written.",
                    "%(num)d rows cannot be imported; nothing was written.",
                    len(plan.bad_lines),
                )
            )
        if dry_run:
            click.echo(_("Dry run: nothing was written."))
            return

        def progress(done: int) -> None:
            click.echo(_("%(done)d / %(total)d rows", done=done, total=plan.total_rows))

        try:
            result = imports.apply_import(
                text, actor=actor, filename=Path(file).name, progress=progress
            )
        except ValidationFailed as error:
            echo_row_errors(error.details.get("errors", []))  # type: ignore[arg-type]
            raise click.ClickException(error.message) from error
        except PerksError as error:
            raise click.ClickException(error.message) from error
        click.echo(
            _(
                "Imported: %(created)d added, %(updated)d updated, %(unchanged)d unchanged, "
                "%(deactivated)d deactivated.",
                created=result.created,
                updated=result.updated,
                unchanged=result.unchanged,
                deactivated=result.deactivated,
            )
        )


@perks_cli.command("tick")
def tick_command() -> None:
    """Daily work: expire ended claims, make draws whose entries have closed.

    Idempotent, and safe to run from several hosts at once: each step is a conditional
    update or takes a row lock, so a second run finds nothing left to do.
    """
    from perks.catalog import claims, draws
    from perks.errors import Conflict

    expired = claims.expire_claims()
    click.echo(f"Claims expired: {expired}")
    made = 0
    for draw_id in draws.draws_due():
        try:
            draws.run_draw(draw_id, actor=None)
        except Conflict:
            continue  # another host made it first
        made += 1
    click.echo(f"Draws made: {made}")


@perks_cli.command("verify-draw")
@click.argument("draw_id", type=int)
def verify_draw_command(draw_id: int) -> None:
    """Recompute a made draw from its revealed seed and entries; exit 1 if it differs."""
    from perks.catalog import draws
    from perks.errors import PerksError

    try:
        result = draws.verify_draw(draw_id)
    except PerksError as error:
        raise click.ClickException(error.message) from error
    draw = draws.get_draw(draw_id)
    click.echo(f"Draw {draw.id}: {len(draw.result)} entries, {draw.seats} seats")
    click.echo(f"Commitment {draw.commitment}")
    click.echo(f"Seed       {draw.seed}")
    click.echo(f"Method     {draws.METHOD}")
    click.echo(
        f"SHA-256(seed) equals the commitment: {'yes' if result.commitment_matches else 'NO'}"
    )
    click.echo(
        f"Recomputed order equals the published one: {'yes' if result.order_matches else 'NO'}"
    )
    if not result.ok:
        raise SystemExit(1)
