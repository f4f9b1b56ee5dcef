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
    click.echo("Demo logins (password: %s):" % password)
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
