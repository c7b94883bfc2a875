"""The auditor's pages: draw form, sample list, call screen, verify button, report and export."""
import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from followup.extensions import db
from followup.models import AuditEvent, FollowupTask, Role
from followup.models.sample import AuditSample, SampleCallAttempt, SampledRecord


def _events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_county_auditor_draws_from_the_form(world, populate, as_user):
    populate(world.cardiology, 120)
    client = as_user(world.county_auditor)
    assert client.get("/sampling/").status_code == 200
    resp = client.post("/sampling/draw", data={"period": "2026-10", "rate": "1", "public_seed": "07 19 23"})
    assert resp.status_code == 302
    sample = db.session.scalars(select(AuditSample)).one()
    assert (sample.region_id, sample.rate, sample.sample_size, sample.drawn_by_id) == (
        world.county_a.id, "0.01", 2, world.county_auditor.id)


@pytest.mark.parametrize("who,rate,floor", [("county_auditor", "0.9", "1%"), ("city_auditor", "0.09", "0.1%")])
def test_the_draw_form_refuses_a_rate_below_the_floor_with_a_clear_message(world, as_user, who, rate, floor):
    client = as_user(getattr(world, who))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resp = client.post("/sampling/draw", data={"period": "2026-10", "rate": rate, "public_seed": "x"})
    assert resp.status_code == 422
    assert f"at least {floor}" in resp.get_data(as_text=True)
    assert db.session.scalar(select(AuditSample.id)) is None


def test_a_second_draw_without_reason_is_refused_on_the_form(world, populate, as_user, draw):
    populate(world.cardiology, 10)
    draw(world.county_a)
    client = as_user(world.county_auditor)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resp = client.post("/sampling/draw", data={"period": "2026-10", "rate": "1", "public_seed": "x"})
    assert resp.status_code == 422 and "written reason" in resp.get_data(as_text=True)
    ok = client.post("/sampling/draw", data={"period": "2026-10", "rate": "1", "public_seed": "x",
                                             "reason": "导入数据在抽样后补齐"})
    assert ok.status_code == 302
    page = as_user(world.city_auditor).get("/sampling/").get_data(as_text=True)
    assert "导入数据在抽样后补齐" in page  # the redraw and its reason are visible to the city


def test_sample_page_lists_patients_to_call_and_the_view_is_audited(world, populate, as_user, draw):
    populate(world.cardiology, 150)
    sample = draw(world.county_a)
    page = as_user(world.county_auditor).get(f"/sampling/{sample.id}").get_data(as_text=True)
    names = [r.discharge.patient.name for r in db.session.scalars(select(SampledRecord))]
    assert len(names) == 2 and all(n in page for n in names)
    assert sample.population_digest in page
    assert [e.object_id for e in _events("sample.records_view")] == [sample.id]


def test_city_sees_a_county_draw_but_not_its_patients(world, populate, as_user, draw):
    populate(world.cardiology, 150)
    sample = draw(world.county_a)
    rec = db.session.scalars(select(SampledRecord)).first()
    city = as_user(world.city_auditor)
    page = city.get(f"/sampling/{sample.id}").get_data(as_text=True)
    assert rec.discharge.patient.name not in page
    assert city.get(f"/sampling/{sample.id}/records/{rec.id}").status_code == 404
    assert city.get(f"/discharges/{rec.discharge_id}").status_code == 404
    assert city.get(f"/sampling/{sample.id}/report").status_code == 200
    county = as_user(world.county_auditor)
    assert county.get(f"/sampling/{sample.id}/records/{rec.id}").status_code == 200
    # Even for its own sampled patient, the auditor never opens the hospital's full record
    # (diagnosis, medicines): the call screen above shows what a verification call needs.
    assert county.get(f"/discharges/{rec.discharge_id}").status_code == 404


def test_another_county_auditor_gets_404_everywhere(world, populate, as_user, draw):
    from followup.security.users import create_user
    other = create_user("county_b", world.PASSWORD, Role.COUNTY_AUDITOR, region_code="371521")
    db.session.commit()
    populate(world.cardiology, 150)
    sample = draw(world.county_a)
    rec = db.session.scalars(select(SampledRecord)).first()
    client = as_user(other)
    for url in (f"/sampling/{sample.id}", f"/sampling/{sample.id}/report", f"/sampling/{sample.id}/records/{rec.id}",
                f"/discharges/{rec.discharge_id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/sampling/{sample.id}/verify").status_code == 404


def test_call_screen_shows_only_what_is_needed_and_every_view_is_audited(world, as_user, draw):
    d = world.discharge(world.cardiology, discharged=date(2026, 10, 3), name="李四", phone="+8613912345678",
                        attending_doctor="王医生")
    sample = draw(world.county_a)
    rec = db.session.scalars(select(SampledRecord)).one()
    client = as_user(world.county_auditor)
    for _ in range(2):
        page = client.get(f"/sampling/{sample.id}/records/{rec.id}").get_data(as_text=True)
    assert all(x in page for x in ("李四", "+8613912345678", world.hospital_a.name, "心内科", "2026-10-03"))
    assert "高血压病" not in page and "王医生" not in page and d.inpatient_no not in page
    assert len(_events("sample.record_view")) == 2


def test_recording_calls_classifies_against_the_hospital_record(world, as_user, draw):
    d = world.discharge(world.cardiology, discharged=date(2026, 10, 3))
    for t in db.session.scalars(select(FollowupTask).where(FollowupTask.discharge_id == d.id)):
        t.status = "done"
    db.session.commit()
    sample = draw(world.county_a)
    rec = db.session.scalars(select(SampledRecord)).one()
    client = as_user(world.county_auditor)
    url = f"/sampling/{sample.id}/records/{rec.id}"
    assert client.post(url + "/unreachable").status_code == 422  # not before 3 dials
    assert client.post(url + "/attempt", data={"outcome": "no_answer"}).status_code == 302
    bad = client.post(url + "/attempt", data={"outcome": "answered", "satisfaction": "9"})
    assert bad.status_code == 422
    assert client.post(url + "/attempt", data={"outcome": "answered", "hospital_called": "no",
                                               "medication_guidance": "no", "satisfaction": "2",
                                               "opinions": "没人给我打过电话"}).status_code == 302
    db.session.expire_all()
    rec = db.session.get(SampledRecord, rec.id)
    assert (rec.reached, rec.classification, rec.hospital_status, rec.satisfaction) == (
        True, "suspected_false", "done", 2)
    assert rec.opinions == "没人给我打过电话"
    assert len(db.session.scalars(select(SampleCallAttempt)).all()) == 2
    assert client.post(url + "/attempt", data={"outcome": "answered", "hospital_called": "yes"}).status_code == 422


def test_mass_assignment_fields_are_rejected(world, as_user, draw):
    world.discharge(world.cardiology, discharged=date(2026, 10, 3))
    sample = draw(world.county_a)
    rec = db.session.scalars(select(SampledRecord)).one()
    client = as_user(world.county_auditor)
    resp = client.post(f"/sampling/{sample.id}/records/{rec.id}/attempt",
                       data={"outcome": "answered", "hospital_called": "yes", "classification": "consistent"})
    assert resp.status_code == 422
    resp = client.post("/sampling/draw", data={"period": "2026-10", "rate": "1", "public_seed": "x",
                                               "system_seed": "00" * 32, "reason": "a second draw"})
    assert resp.status_code == 422 and len(db.session.scalars(select(AuditSample)).all()) == 1


def test_verify_button_and_excel_report(world, populate, as_user, draw):
    populate(world.cardiology, 150)
    sample = draw(world.county_a)
    client = as_user(world.county_auditor)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    resp = client.post(f"/sampling/{sample.id}/verify", follow_redirects=True)
    assert "identical sample" in resp.get_data(as_text=True)
    xlsx = client.get(f"/sampling/{sample.id}/report?format=xlsx")
    assert xlsx.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(ws.values)
    assert rows[0][:3] == ("Hospital", "Population", "Sampled")
    assert rows[1][:3] == (world.hospital_a.name, 150, 2)
    assert [e.detail["format"] for e in _events("sample.report_export")] == ["xlsx"]
    assert client.get(f"/sampling/{sample.id}/report?format=exe").status_code == 400


def test_late_arrivals_are_shown_on_the_sample_page(world, populate, as_user, draw, monkeypatch):
    populate(world.cardiology, 100)
    sample = draw(world.county_a)
    populate(world.cardiology, 7)
    client = as_user(world.county_auditor)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "7 discharge(s) of this month arrived late" in client.get(f"/sampling/{sample.id}").get_data(as_text=True)
    # Above the on-view limit the count is computed only when asked for.
    monkeypatch.setattr("followup.sampling.pages.DRIFT_ON_VIEW_LIMIT", 10)
    assert "arrived late" not in client.get(f"/sampling/{sample.id}").get_data(as_text=True)
    assert "7 discharge(s) of this month arrived late" in client.get(
        f"/sampling/{sample.id}?drift=1").get_data(as_text=True)
