"""IDOR: every route that takes an object id, asked by users of the same role in another ward,
hospital or county for hospital A's objects (discharge, task, opinion, ledger item, user).
The answer is the same as for a missing object (404), or a refusal; never the object."""
import pytest
from sqlalchemy import select

from attack_data import is_denied, sample_url, walk_rules
from followup.models import FollowupTask
from followup.models.opinion import Opinion, RectificationItem

# (intruder, the role's colleague in hospital A who may see the objects)
INTRUDERS = [("ortho_nurse", "nurse"), ("nurse_b", "nurse"), ("centre_b", "centre"),
             ("county_auditor", "qa"), ("city_auditor", "qa"), ("responder", "qa")]
SECRET_NAME = "司马懿"


def _objects(world, db):
    d = world.discharge(world.cardiology, name=SECRET_NAME)
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.discharge_id == d.id))
    op = Opinion(hospital_id=d.hospital_id, discharge_id=d.id, text=SECRET_NAME + "投诉", sentiment="complaint",
                 category="other", ward_id=world.orthopaedics.id, original_sentiment="complaint",
                 original_category="other", recorded_by_id=world.centre.id)
    db.session.add(op)
    db.session.flush()
    from datetime import date
    item = RectificationItem(hospital_id=d.hospital_id, ward_id=world.orthopaedics.id, opinion_id=op.id,
                             problem=SECRET_NAME + "问题", due_date=date(2026, 12, 1), created_by_id=world.qa.id)
    db.session.add(item)
    db.session.flush()
    # The orthopaedics department's feedback, and evidence on its item (issue 14).
    from followup.models.department import DepartmentFeedback
    from followup.models.opinion import ItemEvidence
    fb = DepartmentFeedback(hospital_id=d.hospital_id, ward_id=world.orthopaedics.id, month="2026-11")
    ev = ItemEvidence(item_id=item.id, filename=SECRET_NAME + ".pdf", content_type="application/pdf", size=1,
                      storage_key="0" * 32, sha256="0" * 64)
    db.session.add_all([fb, ev])
    db.session.commit()
    from attack_data import findings_objects
    extra = findings_objects(world, task, text=SECRET_NAME + "质控")
    return {"discharge_id": d.id, "task_id": task.id, "opinion_id": op.id, "item_id": item.id,
            "user_id": world.nurse.id, "id": d.id, "feedback_id": fb.id, "evidence_id": ev.id, **extra}


def _id_routes(app):
    return [r for r in walk_rules(app) if any(a.endswith("id") for a in r.arguments)]


@pytest.mark.parametrize("intruder,colleague", INTRUDERS)
def test_objects_of_another_ward_hospital_or_county_are_not_found(intruder, colleague, world, db, as_user, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    ids = _objects(world, db)
    them = as_user(getattr(world, intruder))
    leaks, tried = [], 0
    for rule in _id_routes(app):
        if not set(rule.arguments) & set(ids):
            continue
        url = sample_url(app, rule, ids)
        resp = them.get(url) if "GET" in rule.methods else them.post(url, data={})
        tried += 1
        body = resp.get_data(as_text=True) if resp.mimetype.startswith(("text/", "application/json")) else ""
        # A refused POST may send the browser back to its own list with a message.
        bounced = "POST" in rule.methods and resp.status_code in (302, 303) and \
            not any(str(v) in resp.headers.get("Location", "") for v in ids.values())
        if SECRET_NAME in body or not (is_denied(resp) or bounced or resp.status_code in (400, 409, 422)):
            leaks.append((rule.endpoint, resp.status_code))
    assert tried >= 5
    assert not leaks, f"{intruder} reached hospital A objects: {leaks}"
    db.session.expire_all()
    task = db.session.get(FollowupTask, ids["task_id"])
    assert task.claimed_by_id is None and task.status == "open" and task.version == 1
    assert db.session.get(RectificationItem, ids["item_id"]).status == "open"
    assert db.session.get(Opinion, ids["opinion_id"]).reclassified_at is None


def test_the_same_objects_are_reachable_in_scope_so_the_ids_are_real(world, db, as_user):
    ids = _objects(world, db)
    nurse = as_user(world.nurse)
    assert nurse.get(f"/discharges/{ids['discharge_id']}").status_code == 200
    assert SECRET_NAME in nurse.get(f"/discharges/{ids['discharge_id']}").get_data(as_text=True)
