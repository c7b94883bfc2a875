"""Organisation and account commands."""
import json

import click
from sqlalchemy import select

from ..extensions import db
from ..models import Hospital, Region, Role
from ..security.users import UserError, create_user
from . import followup_cli


@followup_cli.command("hospitals")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def hospitals(as_json):
    """Every region and hospital with its code."""
    regions = db.session.scalars(select(Region).order_by(Region.code)).all()
    data = {
        "regions": [{"code": r.code, "name": r.name, "level": r.level,
                     "parent": r.parent.code if r.parent else None} for r in regions],
        "hospitals": [{"code": h.code, "name": h.name, "grade": h.grade, "region": h.region.code,
                       "city_direct": h.is_city_direct,
                       "wards": [{"code": w.code, "name": w.name} for w in h.wards]}
                      for h in db.session.scalars(select(Hospital).order_by(Hospital.code))],
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for r in data["regions"]:
        click.echo(f"{r['code']}\t{r['level']}\t{r['name']}")
    for h in data["hospitals"]:
        tag = "市直" if h["city_direct"] else h["region"]
        click.echo(f"{h['code']}\t{tag}\t{h['name']}\t{len(h['wards'])} wards")


@followup_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "display_name", help="Display name (defaults to the username).")
@click.option("--hospital", "hospital_code", help="Hospital code, for hospital roles.")
@click.option("--ward", "ward_codes", multiple=True, help="Ward code(s), for nurses and responders.")
@click.option("--region", "region_code", help="Region code, for auditors.")
@click.password_option()
def create_user_cmd(username, role, display_name, hospital_code, ward_codes, region_code, password):
    """Create a staff account with its role and scope."""
    try:
        user = create_user(username, password, Role(role), display_name=display_name,
                           hospital_code=hospital_code, ward_codes=ward_codes, region_code=region_code)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@followup_cli.command("disable-user")
@click.argument("username")
def disable_user(username):
    """Disable an account and end all its sessions."""
    from ..models import User
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    from ..core.clock import utcnow
    from ..security.users import set_active
    set_active(user, False, now=utcnow())  # ends every session, audited
    db.session.commit()
    click.echo(f"disabled {username}")
