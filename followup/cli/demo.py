"""The demo data command."""
import click

from .demo_world import seed_calls, seed_discharges, seed_organisations, seed_users
from ..extensions import db
from . import followup_cli


@followup_cli.command("seed-demo")
@click.option("--discharges", default=3000, show_default=True, help="Synthetic discharges to add.")
@click.option("--credentials-file", type=click.Path(dir_okay=False),
              help="Also write the new accounts' passwords to this file (mode 0600).")
def seed_demo(discharges, credentials_file):
    """Create a demo city with hospitals, wards, one account per role and synthetic discharges.
    Safe to run again: it adds only what is missing. Passwords are printed once, at creation."""
    seed_organisations()
    created = seed_users()
    db.session.commit()
    n = seed_discharges(discharges)
    db.session.commit()
    calls = seed_calls()
    db.session.commit()
    click.echo(f"demo data ready: {n} new discharges, {calls} finished follow-ups")
    if created:
        lines = [f"{u}\t{p}" for u, p in created.items()]
        click.echo("demo accounts (username, password):\n" + "\n".join(lines))
        if credentials_file:
            import os
            fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join(lines) + "\n")
