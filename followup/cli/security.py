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
@click.option("--checkpoints", type=click.Path(dir_okay=False),
              help="Checkpoint file to check against (default: AUDIT_CHECKPOINT_PATH).")
def verify_audit(checkpoints):
    """Walk the keyed audit chain and check it against the signed checkpoints kept outside the
    database; exit non-zero if a row was edited, inserted or deleted, or the newest ones removed."""
    ok, checked, bad = audit.verify_chain(checkpoint_path=checkpoints)
    if not ok:
        raise click.ClickException(f"audit chain broken at event {bad} after {checked} good events")
    click.echo(f"audit chain verified: {checked} events")


@followup_cli.command("db-roles")
@click.argument("role")
@click.option("--password", help="Password for a new role (else set one yourself, or use peer/cert auth).")
@click.option("--apply", is_flag=True, help="Run the statements now (connect as the owner); else print them.")
def db_roles(role, password, apply):
    """Create or refresh the app's PostgreSQL role: owns nothing, cannot change or delete audit
    events or write anchors. Run as the owner after every `flask db upgrade`."""
    from sqlalchemy import text
    from ..ops.db_roles import app_role_sql
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("database roles apply to PostgreSQL only")
    statements = app_role_sql(role, db.engine.url.database, password=password)
    if not apply:
        click.echo(";\n".join(statements) + ";")
        return
    with db.engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql))
    click.echo(f"role {role} can now connect to {db.engine.url.database} with the app's rights only")


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
