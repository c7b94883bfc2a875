"""Call-queue commands: who leads a queue (may assign its tasks to named callers)."""
import click
from sqlalchemy import select

from ..calls import CallError
from ..calls.queueing import set_head_nurse
from ..core.clock import utcnow
from ..extensions import db
from ..models import User
from . import followup_cli


@followup_cli.command("head-nurse")
@click.argument("username")
@click.option("--off", is_flag=True, help="Take the right away again.")
def head_nurse(username, off):
    """Let a nurse (or follow-up-centre staff) assign her queue's tasks to named callers."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    try:
        set_head_nurse(user, not off, utcnow())
    except CallError as err:
        raise click.ClickException(err.message) from None
    db.session.commit()
    click.echo(f"{username}: {'no longer leads' if off else 'leads'} the queue")
