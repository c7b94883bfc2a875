"""Call quality control: each caller's monthly sample is exactly ceil(rate × N) of their
completed calls, reproducible from hospital, month and stored seed; QA reviews each, and the
results per caller and department reach the monthly summary and its Excel."""
from datetime import date, timedelta

import pytest
import time_machine
from openpyxl import load_workbook
from io import BytesIO
from sqlalchemy import func, select

from followup.core.clock import utcnow
from followup.models import AuditEvent, Level
from followup.models.call import HospitalFollowup, WardFollowup
from followup.models.opinion import Opinion
from followup.models.quality import QcPolicy, QcReview
from followup.quality import sample as S
from followup.quality.review import figures, save_review
from followup.reports import monthly

from .conftest import local

MONTH = "2026-11"
AFTER = local(2026, 12, 2, 9)


def complete(world, db, caller, n, ward=None, level=Level.WARD, day=10):
    """n discharges of `ward` whose `level` task `caller` completed in November."""
    ward = ward or world.cardiology
    out = []
    for i in range(n):
        d = world.discharge(ward, discharged=date(2026, 11, day), name="赵六")
        t = next(t for t in d.tasks if t.level == level)
        t.status, t.completed_at = "done", local(2026, 11, day + 1, 9) + timedelta(minutes=i)
        rec = (WardFollowup(task_id=t.id, recorded_by_id=caller.id, condition="improved",
                            guidance={"medication": {"given": True, "text": "按时服药"}})
               if level == Level.WARD else HospitalFollowup(task_id=t.id, recorded_by_id=caller.id, sat_overall=5))
        db.session.add(rec)
        out.append(t)
    db.session.commit()
    return out


@pytest.mark.parametrize("n,rate,expected", [(0, 10, 0), (1, 10, 1), (9, 10, 1), (10, 10, 1), (11, 10, 2),
                                             (23, 10, 3), (23, 25, 6), (100, 10, 10), (101, 10, 11), (7, 100, 7)])
def test_per_caller_is_the_exact_ceiling(n, rate, expected):
    assert S.per_caller(n, rate) == expected


def test_each_callers_sample_is_exact_and_reproducible(world, db):
    complete(world, db, world.nurse, 23)
    complete(world, db, world.ortho_nurse, 1, ward=world.orthopaedics)
    complete(world, db, world.centre, 12, level=Level.HOSPITAL)
    db.session.add(QcPolicy(hospital_id=world.hospital_a.id, rate_percent=10, seed="ab" * 32, updated_at=utcnow()))
    db.session.commit()
    sample = S.draw(world.hospital_a.id, MONTH, now=AFTER)
    db.session.commit()
    per = dict(db.session.execute(select(QcReview.caller_id, func.count()).where(QcReview.sample_id == sample.id)
                                  .group_by(QcReview.caller_id)).all())
    assert per == {world.nurse.id: 3, world.ortho_nurse.id: 1, world.centre.id: 2}
    assert world.qa.id not in per  # made no calls: nothing to sample
    assert S.recompute(sample)
    assert S.draw(world.hospital_a.id, MONTH, now=AFTER + timedelta(days=3)).id == sample.id  # drawn once
    stored = sorted(db.session.scalars(select(QcReview.task_id).where(QcReview.sample_id == sample.id)))
    pop = S.population(world.hospital_a.id, MONTH)
    assert [r[0] for r in S.choose(pop, "ab" * 32, world.hospital_a.id, MONTH, 10)] == stored
    assert [r[0] for r in S.choose(pop, "cd" * 32, world.hospital_a.id, MONTH, 10)] != stored  # the seed decides
    assert [r[0] for r in S.choose(pop, "ab" * 32, world.hospital_a.id, "2026-10", 10)] != stored  # and the month
    # Someone alters the stored sample: the recomputation no longer matches.
    db.session.delete(db.session.scalar(select(QcReview).where(QcReview.sample_id == sample.id).limit(1)))
    db.session.flush()
    assert not S.recompute(sample)


def test_a_month_is_sampled_only_once_it_is_over_and_the_rate_is_per_hospital(world, db):
    complete(world, db, world.nurse, 8)
    with pytest.raises(S.QcError):
        S.draw(world.hospital_a.id, MONTH, now=local(2026, 11, 30, 23))
    S.set_rate(world.hospital_a.id, 50, user=world.qa, now=utcnow())
    sample = S.draw(world.hospital_a.id, MONTH, now=AFTER)
    db.session.commit()
    assert len(sample.reviews) == 4 and sample.rate_percent == 50
    assert db.session.get(QcPolicy, world.hospital_b.id) is None  # B keeps the default, seeded on its own draw
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "qc.draw")) == 1


def test_reviews_reach_the_monthly_summary_per_caller_and_department(world, db):
    complete(world, db, world.nurse, 10)
    complete(world, db, world.ortho_nurse, 10, ward=world.orthopaedics)
    S.set_rate(world.hospital_a.id, 20, user=world.qa, now=utcnow())
    sample = S.draw(world.hospital_a.id, MONTH, now=AFTER)
    answers = {world.nurse.id: ("yes", "no"), world.ortho_nurse.id: ("no", "yes")}
    for i, r in enumerate(sample.reviews):
        form, guidance = answers[r.caller_id]
        if i == 0:
            continue  # one left unreviewed
        save_review(r, {"form_complete": form, "guidance_matched": guidance, "opinion_verbatim": "",
                        "callback_outcome": "disagreed" if r.caller_id == world.nurse.id else ""},
                    user=world.qa, now=AFTER)
    db.session.commit()
    q = figures(world.hospital_a.id, MONTH)
    assert q["sampled"] == 4 and q["reviewed"] == 3
    by_caller = {r["id"]: r for r in q["by_caller"]}
    first_caller = sample.reviews[0].caller_id
    assert by_caller[first_caller]["reviewed"] == 1
    assert by_caller[world.nurse.id]["form_complete"] == 1.0 and by_caller[world.nurse.id]["guidance_matched"] == 0.0
    assert by_caller[world.ortho_nurse.id]["form_complete"] == 0.0
    assert by_caller[world.nurse.id]["opinion_verbatim"] is None  # n/a is left out
    assert by_caller[world.nurse.id]["callback_disagreed"] == by_caller[world.nurse.id]["reviewed"]
    by_ward = {r["name"]: r for r in q["by_ward"]}
    assert set(by_ward) == {"心内科", "骨科"}
    data = monthly.build(world.hospital_a.id, MONTH, now=AFTER)
    assert data["quality"]["by_caller"] and data["quality"]["by_ward"]
    assert monthly.build(world.hospital_a.id, MONTH, now=AFTER, words=False)["quality"]["by_caller"] == []
    from followup.reports.exports import summary_xlsx
    wb = load_workbook(BytesIO(summary_xlsx(data)))
    sheet = next(ws for ws in wb.worksheets if ws.title in ("Call quality by caller", "通话质控（按随访员）"))
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted([world.nurse.display_name, world.ortho_nurse.display_name])


def test_qa_draws_reviews_and_calls_back_on_the_pages(world, db, as_user):
    complete(world, db, world.nurse, 3)
    t = complete(world, db, world.centre, 1, level=Level.HOSPITAL)[0]
    db.session.add(Opinion(hospital_id=t.hospital_id, discharge_id=t.discharge_id, task_id=t.id, text="护士很耐心",
                           sentiment="praise", category="service_attitude", original_sentiment="praise",
                           original_category="service_attitude", recorded_by_id=world.centre.id))
    db.session.commit()
    with time_machine.travel(AFTER, tick=True):  # the month is over; the session lives in that time
        qa = as_user(world.qa)
        assert "抽取样本" in qa.get(f"/quality/?month={MONTH}").get_data(as_text=True)
        assert qa.post("/quality/draw", data={"month": MONTH}).status_code == 302
        review = db.session.scalar(select(QcReview).where(QcReview.task_id == t.id))
        page = qa.get(f"/quality/reviews/{review.id}").get_data(as_text=True)
        assert "护士很耐心" in page and "赵*" in page and "13812345678" not in page
        shown = qa.post(f"/quality/reviews/{review.id}/contact").get_data(as_text=True)
        assert "+8613812345678" in shown
        ev = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "pii.reveal_phone"))
        assert ev["purpose"] == "qc_callback"
        resp = qa.post(f"/quality/reviews/{review.id}", data={"form_complete": "yes", "opinion_verbatim": "yes",
                                                              "note": "<b>ok</b>", "callback_outcome": "confirmed"})
        assert resp.status_code == 302
        db.session.expire_all()
        assert db.session.get(QcReview, review.id).opinion_verbatim is True
        assert qa.post(f"/quality/reviews/{review.id}", data={"form_complete": "maybe"}).status_code == 400
    # QA of another hospital, and a nurse, do not find it
    from followup.models import Role
    from followup.security.users import create_user
    qa_b = create_user("qa_b", world.PASSWORD, Role.QA, hospital_code="HB")
    db.session.commit()
    assert as_user(qa_b).get(f"/quality/reviews/{review.id}").status_code == 404
    assert as_user(world.nurse).get("/quality/").status_code == 404
