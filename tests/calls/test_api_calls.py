"""The call-queue JSON API: masking, the access log, concurrency (409), validation (422), scope."""
import pytest
from sqlalchemy import select

from followup.models import AuditEvent, FollowupTask


@pytest.fixture
def open_hours(app):
    app.config["FOLLOWUP_CALLING_HOURS"] = "00:00-24:00"


@pytest.fixture
def two_patients(world, open_hours):
    return [world.discharge(world.cardiology, name="王小明", phone="+8613812345678"),
            world.discharge(world.cardiology, name="李四", phone="+8613900001111")]


def _audits(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_the_queue_lists_masked_names_and_numbers_with_counts(as_user, world, two_patients):
    resp = as_user(world.nurse).get("/api/v1/calls/queue")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["counts"]["open"] == 2
    assert {r["phone_masked"] for r in body["tasks"]} == {"138****5678", "139****1111"}
    text = str(body)
    assert "13812345678" not in text and "王小明" not in text and "王**" in text


def test_next_call_reveals_the_claimed_patient_and_logs_it(db, as_user, world, two_patients):
    resp = as_user(world.nurse).post("/api/v1/calls/next")
    task = resp.get_json()["task"]
    assert task["phones"] and task["patient_name"] in ("王小明", "李四")
    events = _audits(db, "call.open")
    assert [(e.object_type, e.object_id, e.user_id) for e in events] == [("task", task["id"], world.nurse.id)]
    assert "138" not in str(events[0].detail) and task["patient_name"] not in str(events[0].detail)


def test_next_call_is_null_when_nothing_is_callable(as_user, world, open_hours):
    resp = as_user(world.nurse).post("/api/v1/calls/next")
    assert resp.status_code == 200 and resp.get_json() == {"task": None}


def test_a_full_call_claim_attempt_complete_through_the_api(db, as_user, world, two_patients):
    c = as_user(world.nurse)
    task = c.post("/api/v1/calls/next").get_json()["task"]
    resp = c.post(f"/api/v1/calls/tasks/{task['id']}/attempts",
                  json={"version": task["version"], "outcome": "no_answer"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["outcome"] == "no_answer" and body["task"]["status"] == "open"
    assert body["task"]["next_attempt_at"] is not None


def test_a_stale_version_is_a_conflict(as_user, world, two_patients):
    c = as_user(world.nurse)
    task = c.post("/api/v1/calls/next").get_json()["task"]
    resp = c.post(f"/api/v1/calls/tasks/{task['id']}/release", json={"version": task["version"] - 1})
    assert resp.status_code == 409 and resp.get_json()["version"] == task["version"]
    assert c.post(f"/api/v1/calls/tasks/{task['id']}/release", json={"version": task["version"]}).status_code == 200


def test_bad_input_names_the_field(as_user, world, two_patients):
    c = as_user(world.nurse)
    task = c.post("/api/v1/calls/next").get_json()["task"]
    url = f"/api/v1/calls/tasks/{task['id']}/attempts"
    resp = c.post(url, json={"version": task["version"], "outcome": "hung_up"})
    assert resp.status_code == 422 and "outcome" in resp.get_json()["errors"]["json"]
    resp = c.post(url, json={"version": task["version"], "outcome": "callback"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "callback_at"
    resp = c.post(url, json={"version": task["version"], "outcome": "callback", "callback_at": "2026-11-30T10:00:00"})
    assert resp.status_code == 422  # no time zone
    resp = c.post(url, json={"version": task["version"], "outcome": "answered", "extra": 1})
    assert resp.status_code == 422
    assert c.post(url, json={"version": task["version"], "outcome": "answered"}).status_code == 201


def test_only_the_claimer_may_record_a_dial(db, as_user, world, two_patients):
    world.ortho_nurse.wards.append(world.cardiology)
    db.session.commit()
    task = as_user(world.nurse).post("/api/v1/calls/next").get_json()["task"]
    resp = as_user(world.ortho_nurse).post(f"/api/v1/calls/tasks/{task['id']}/attempts",
                                           json={"version": task["version"], "outcome": "answered"})
    assert resp.status_code == 409


def test_claiming_a_task_someone_holds_is_a_conflict(db, as_user, world, two_patients):
    world.ortho_nurse.wards.append(world.cardiology)
    db.session.commit()
    task = as_user(world.nurse).post("/api/v1/calls/next").get_json()["task"]
    assert as_user(world.ortho_nurse).post(f"/api/v1/calls/tasks/{task['id']}/claim").status_code == 409


@pytest.mark.parametrize("who", ["ortho_nurse", "nurse_b", "centre_b"])
def test_tasks_outside_the_callers_scope_are_404(db, as_user, world, two_patients, who):
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.level == "ward"))
    c = as_user(getattr(world, who))
    base = f"/api/v1/calls/tasks/{task.id}"
    assert c.post(f"{base}/claim").status_code == 404
    assert c.get(base).status_code == 404
    assert c.post(f"{base}/release", json={"version": task.version}).status_code == 404
    assert c.post(f"{base}/attempts", json={"version": task.version, "outcome": "answered"}).status_code == 404


def test_signed_out_is_401_and_wrong_roles_403(client, as_user, world, two_patients):
    assert client.get("/api/v1/calls/queue").status_code == 401
    assert client.post("/api/v1/calls/next").status_code == 401
    assert as_user(world.qa).post("/api/v1/calls/next").status_code == 403
    assert as_user(world.sys_admin).get("/api/v1/calls/queue").status_code == 403
    assert as_user(world.qa).get("/api/v1/calls/queue").status_code == 200


def test_the_claimed_task_can_be_reopened_by_its_claimer_only(as_user, world, two_patients):
    c = as_user(world.nurse)
    task = c.post("/api/v1/calls/next").get_json()["task"]
    assert c.get(f"/api/v1/calls/tasks/{task['id']}").get_json()["phones"] == task["phones"]
    other = c.post("/api/v1/calls/next").get_json()["task"]
    c.post(f"/api/v1/calls/tasks/{other['id']}/release", json={"version": other["version"]})
    assert c.get(f"/api/v1/calls/tasks/{other['id']}").status_code == 409


def test_a_head_nurse_assigns_through_the_api(db, as_user, world, two_patients):
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.level == "ward"))
    url = f"/api/v1/calls/tasks/{task.id}/assign"
    body = {"version": task.version, "caller_id": world.nurse.id}
    assert as_user(world.nurse).post(url, json=body).status_code == 403
    world.nurse.is_head_nurse = True
    db.session.commit()
    c = as_user(world.nurse)
    assert c.post(url, json={**body, "caller_id": world.nurse_b.id}).status_code == 422
    assert c.post(url, json={**body, "caller_id": 999999}).status_code == 422
    resp = c.post(url, json=body)
    assert resp.status_code == 200 and resp.get_json()["assigned_to_id"] == world.nurse.id
    assert len(_audits(db, "task.assign")) == 1


def test_the_openapi_document_lists_the_error_answers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    attempts = spec["paths"]["/api/v1/calls/tasks/{task_id}/attempts"]["post"]["responses"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(attempts)
    assert "/api/v1/calls/next" in spec["paths"] and "/api/v1/calls/queue" in spec["paths"]
