"""The operator commands."""
import json

from sqlalchemy import func, select

from followup.models import Discharge, FollowupTask, User


def test_hospitals_json_lists_regions_and_hospitals_with_codes(world, runner):
    out = runner.invoke(args=["followup", "hospitals", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    codes = {h["code"]: h for h in data["hospitals"]}
    assert codes["HC"]["city_direct"] is True and codes["HA"]["region"] == "371502"
    assert {r["code"] for r in data["regions"]} == {"371500", "371502", "371521"}


def test_create_user_checks_the_scope(world, runner, db):
    ok = runner.invoke(args=["followup", "create-user", "n2", "--role", "nurse", "--hospital", "HA",
                             "--ward", "GK", "--password", "long-enough-pw"])
    assert ok.exit_code == 0, ok.output
    assert db.session.scalar(select(User).where(User.username == "n2")).ward_ids == [world.orthopaedics.id]
    bad = runner.invoke(args=["followup", "create-user", "n3", "--role", "nurse", "--hospital", "HA",
                              "--ward", "NOPE", "--password", "long-enough-pw"])
    assert bad.exit_code != 0 and "ward" in bad.output
    dup = runner.invoke(args=["followup", "create-user", "n2", "--role", "qa", "--hospital", "HA",
                              "--password", "long-enough-pw"])
    assert dup.exit_code != 0 and "taken" in dup.output


def test_seed_demo_builds_a_city_and_is_idempotent(app, runner, db):
    first = runner.invoke(args=["followup", "seed-demo", "--discharges", "60"])
    assert first.exit_code == 0, first.output
    assert "nurse\tdemo-" in first.output
    n = db.session.scalar(select(func.count()).select_from(Discharge))
    assert n == 60
    died = db.session.scalar(select(func.count()).select_from(Discharge).where(Discharge.disposition == "5"))
    assert db.session.scalar(select(func.count()).select_from(FollowupTask)) == 2 * (n - died)
    # Functional departments exist (with a head) but never discharge anyone.
    from followup.models import Ward
    assert "cashier\tdemo-" in first.output
    functional = select(Ward.id).where(Ward.kind == "functional")
    assert db.session.scalar(select(func.count()).select_from(functional.subquery())) == 9
    assert db.session.scalar(select(func.count()).select_from(Discharge).where(Discharge.ward_id.in_(functional))) == 0
    again = runner.invoke(args=["followup", "seed-demo", "--discharges", "60"])
    assert again.exit_code == 0 and "0 new discharges" in again.output and "demo-" not in again.output
