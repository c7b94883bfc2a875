"""One process that provisions the fault suite's database as its owner: migrations, the app's
role, the demo organisations and accounts, the callers and a hospital import token. Prints the
token. (One process instead of seven `flask` commands: start-up is most of their cost.)"""
import sys

from flask_migrate import upgrade
from sqlalchemy import text

from followup import create_app
from followup.cli.demo_world import seed_organisations, seed_users
from followup.core.clock import utcnow
from followup.extensions import db
from followup.imports.batches import create_api_token
from followup.models import Hospital, Role
from followup.ops.db_roles import app_role_sql
from followup.security.users import create_user


def main(hospital: str, password: str, *nurses: str) -> None:
    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        with db.engine.begin() as conn:
            for sql in app_role_sql("followup_app", db.engine.url.database):
                conn.execute(text(sql))
        seed_organisations()
        seed_users()
        for name in nurses:
            create_user(name, password, Role.NURSE, hospital_code=hospital, ward_codes=["XNK"])
        h = db.session.scalar(db.select(Hospital).where(Hospital.code == hospital))
        _row, token = create_api_token(h, "faults", utcnow())
        db.session.commit()
        print(token)


if __name__ == "__main__":
    main(*sys.argv[1:])
