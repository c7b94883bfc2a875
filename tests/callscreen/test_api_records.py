"""The follow-up forms through the JSON API: saved with 201, field errors with 422, other wards 404."""
from sqlalchemy import select

from followup.models import TaskStatus
from followup.models.call import HospitalFollowup, WardFollowup
from followup.models.opinion import RectificationItem

from .conftest import hospital_data, ward_data


def test_ward_record_is_saved_through_the_api(world, db, as_user, claimed, frozen):
    ward_task, _ = claimed
    resp = as_user(world.nurse).post(f"/api/v1/records/tasks/{ward_task.id}/ward", json=ward_data())
    assert resp.status_code == 201, resp.json
    assert resp.json["status"] == TaskStatus.DONE and db.session.scalar(select(WardFollowup.id)) == resp.json["record_id"]


def test_api_field_errors_are_422_and_nothing_is_saved(world, db, as_user, claimed, frozen):
    _, hospital_task = claimed
    resp = as_user(world.centre).post(f"/api/v1/records/tasks/{hospital_task.id}/hospital",
                                      json=hospital_data(sat_nurses=9, extra=1))
    assert resp.status_code == 422
    assert resp.json["errors"]["json"] == {"sat_nurses": ["Choose a score from 1 to 5."], "extra": ["Unknown field."]}
    assert db.session.scalar(select(HospitalFollowup.id)) is None


def test_api_complaint_opens_a_ledger_item(world, db, as_user, claimed, frozen):
    _, hospital_task = claimed
    resp = as_user(world.centre).post(f"/api/v1/records/tasks/{hospital_task.id}/hospital", json=hospital_data(opinions=[
        {"text": "缴费窗口太少", "sentiment": "complaint", "category": "waiting_process", "ward_id": world.cardiology.id}]))
    assert resp.status_code == 201
    assert db.session.scalar(select(RectificationItem.problem)) == "缴费窗口太少"


def test_api_other_wards_task_is_404_and_wrong_level_is_409(world, as_user, claimed, frozen):
    ward_task, hospital_task = claimed
    assert as_user(world.nurse_b).post(f"/api/v1/records/tasks/{ward_task.id}/ward", json=ward_data()).status_code == 404
    assert as_user(world.qa).post(f"/api/v1/records/tasks/{ward_task.id}/ward", json=ward_data()).status_code == 403
    assert as_user(world.centre).post(f"/api/v1/records/tasks/{hospital_task.id}/ward", json=ward_data()).status_code == 409


def test_the_forms_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    body = spec["paths"]["/api/v1/records/tasks/{task_id}/ward"]["post"]["requestBody"]
    assert "application/json" in body["content"]
