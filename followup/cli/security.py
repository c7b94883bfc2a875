"""Security commands: verify the audit chain, purge audit records past retention."""
import click

from ..core import audit
from ..core.clock import utcnow
from ..extensions import db
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
