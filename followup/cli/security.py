"""Security commands: verify the audit chain, purge audit records past retention, check the
locked dependencies against an advisory file."""
from pathlib import Path

import click
from flask import current_app

from ..core import audit
from ..core.clock import utcnow
from ..extensions import db
from ..security import dependencies
from ..security.retention import RetentionError, purge_audit
from . import followup_cli


@followup_cli.command("verify-audit")
def verify_audit():
    """Walk the audit hash chain; exit non-zero if a row was edited, inserted or deleted."""
    ok, checked, bad = audit.verify_chain()
    if not ok:
        raise click.ClickException(f"audit chain broken at event {bad} after {checked} good events")
    click.echo(f"audit chain verified: {checked} events")


@followup_cli.command("purge-audit")
@click.option("--days", type=int, help="Keep this many days (default: the security policy). Never below 180.")
def purge_audit_cmd(days):
    """Remove audit events older than the retention period (an anchor keeps the chain whole)."""
    try:
        n = purge_audit(now=utcnow(), days=days)
    except RetentionError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"purged {n} audit events")


@followup_cli.command("check-deps")
@click.option("--advisories", type=click.Path(dir_okay=False),
              help="Advisory JSON (pip-audit or OSV); default: instance/advisories.json when present.")
@click.option("--requirements", "locks", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Lock file(s) to check (default: requirements.txt and requirements-dev.txt).")
def check_deps(advisories, locks):
    """List locked dependencies with known vulnerabilities, from a local advisory file (no network).
    Exit 1 when any is found; run it on a schedule after refreshing the file."""
    root = Path(current_app.root_path).parent
    path = Path(advisories or Path(current_app.instance_path) / "advisories.json")
    if not path.is_file():
        if advisories:
            raise click.ClickException(f"no advisory file at {path}")
        click.echo(f"no advisory file at {path}: nothing checked")
        return
    locks = locks or [p for p in (root / "requirements.txt", root / "requirements-dev.txt") if p.is_file()]
    try:
        found = dependencies.vulnerable(dependencies.read_pins(locks), dependencies.load_advisories(path))
    except dependencies.AdvisoryFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for f in found:
        also = f" ({', '.join(f.aliases)})" if f.aliases else ""
        fix = f"; fixed in {', '.join(f.fixed_in)}" if f.fixed_in else "; no fix yet"
        click.echo(f"{f.name}=={f.version}: {f.advisory}{also}{fix}")
    if found:
        raise click.exceptions.Exit(1)
    click.echo(f"no known vulnerabilities in {', '.join(p.name for p in map(Path, locks))} ({path.name})")
