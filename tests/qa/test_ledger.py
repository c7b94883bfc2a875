"""The rectification ledger: each transition and its history, who may take which step, and
QA's reclassification (the patient's words never change)."""
from datetime import date

import pytest
from sqlalchemy import select

from followup.rectification import ledger
from followup.models import AuditEvent, Role
from followup.models.opinion import Opinion, RectificationItem

from .conftest import item, local, opinion

NOW = local(2026, 12, 3)


def _history(it):
    return [(e.action, e.user_id) for e in it.events]


def test_respond_close_is_the_whole_life_of_an_item_and_each_step_is_kept(world, db):
    d = world.discharge(world.cardiology)
    o = opinion(d, "护士态度差", "complaint", "service_attitude", world.centre, local(2026, 11, 21),
                ward=world.cardiology)
    it = ledger.open_item_from_opinion(o, user=None, now=local(2026, 11, 21))
    assert (it.status, it.source, it.due_date) == ("open", "complaint", date(2026, 12, 6))
    ledger.respond(it, user=world.responder, cause="交接班忙", measures="科室培训", now=local(2026, 11, 25))
    assert it.status == "responded" and it.cause == "交接班忙"
    ledger.close(it, user=world.qa, now=local(2026, 11, 28), note="回访患者已满意")
    db.session.commit()
    assert it.status == "closed" and it.closed_at == local(2026, 11, 28)
    assert _history(it) == [("created", None), ("responded", world.responder.id), ("closed", world.qa.id)]
    assert it.events[1].data == {"cause": "交接班忙", "measures": "科室培训"}
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "rectification_item")
                              ).all() == ["ledger.create", "ledger.responded", "ledger.closed"]


def test_send_back_reopens_with_the_reason_and_the_department_answers_again(world, db):
    it = item(world.hospital_a, world.cardiology, "问题", local(2026, 11, 1), date(2026, 11, 20))
    ledger.respond(it, user=world.responder, cause="c", measures="m", now=NOW)
    ledger.send_back(it, user=world.qa, now=NOW, note="措施不具体")
    assert it.status == "open"
    ledger.respond(it, user=world.responder, cause="c2", measures="m2", now=NOW)
    db.session.commit()
    assert [a for a, _u in _history(it)] == ["created", "responded", "returned", "responded"]
    assert it.events[2].note == "措施不具体" and it.measures == "m2"


@pytest.mark.parametrize("step", ["close", "send_back"])
def test_qa_cannot_close_or_send_back_an_item_nobody_answered(world, step):
    it = item(world.hospital_a, world.cardiology, "问题", local(2026, 11, 1), date(2026, 11, 20))
    with pytest.raises(ledger.LedgerError, match="cannot"):
        getattr(ledger, step)(it, user=world.qa, now=NOW, note="x")
    assert it.status == "open" and len(it.events) == 1


def test_a_closed_item_takes_no_more_steps(world):
    it = item(world.hospital_a, world.cardiology, "问题", local(2026, 11, 1), date(2026, 11, 20),
              status="closed", closed=local(2026, 11, 10))
    with pytest.raises(ledger.LedgerError):
        ledger.respond(it, user=world.responder, cause="c", measures="m", now=NOW)
    with pytest.raises(ledger.LedgerError):
        ledger.reassign(it, user=world.qa, now=NOW, due=date(2027, 1, 1))


def test_reassign_moves_the_item_and_records_from_where(world, db):
    it = item(world.hospital_a, world.cardiology, "问题", local(2026, 11, 1), date(2026, 11, 20))
    ledger.reassign(it, user=world.qa, now=NOW, ward=world.orthopaedics, due=date(2026, 12, 20))
    assert (it.ward_id, it.due_date) == (world.orthopaedics.id, date(2026, 12, 20))
    assert it.events[-1].data["from_ward_id"] == world.cardiology.id
    with pytest.raises(ledger.LedgerError, match="not in the item's hospital"):
        ledger.reassign(it, user=world.qa, now=NOW, ward=world.ward_b)


def test_overdue_means_past_due_and_not_closed(world):
    it = item(world.hospital_a, world.cardiology, "问题", local(2026, 11, 1), date(2026, 11, 20))
    assert not ledger.is_overdue(it, date(2026, 11, 20)) and ledger.is_overdue(it, date(2026, 11, 21))
    it.status = "closed"
    assert not ledger.is_overdue(it, date(2026, 11, 21))


def test_reclassification_keeps_the_text_and_the_original_classification(world, db):
    d = world.discharge(world.cardiology)
    o = opinion(d, "饭菜太咸", "suggestion", "other", world.centre, local(2026, 11, 21))
    ledger.reclassify(o, user=world.qa, now=NOW, category="food", sentiment="complaint", ward=world.orthopaedics)
    db.session.commit()
    db.session.expire_all()
    o = db.session.get(Opinion, o.id)
    assert (o.text, o.category, o.sentiment, o.ward_id) == ("饭菜太咸", "food", "complaint", world.orthopaedics.id)
    assert (o.original_category, o.original_sentiment, o.original_ward_id) == ("other", "suggestion", None)
    assert o.reclassified_by_id == world.qa.id


# --- pages ------------------------------------------------------------------------------

def test_responder_sees_only_its_departments_items_and_others_are_404(november, as_user):
    w = november.world
    c = as_user(w.responder)  # 心内科 only
    page = c.get("/ledger/").get_data(as_text=True)
    assert "十月的问题" in page and "结账排队" not in page and "病房噪音" not in page
    assert c.get(f"/ledger/{november.item_nov.id}").status_code == 404  # 收费处's item
    assert c.post(f"/ledger/{november.item_nov.id}/respond", data={"cause": "x", "measures": "y"}).status_code == 404


def test_responder_answers_through_the_page_and_qa_closes_it(november, as_user, db):
    w, it = november.world, november.item_oct
    r = as_user(w.responder).post(f"/ledger/{it.id}/respond", data={"cause": "人手不足", "measures": "增加排班"})
    assert r.status_code == 302
    qa = as_user(w.qa)
    page = qa.get(f"/ledger/{it.id}").get_data(as_text=True)
    assert "人手不足" in page and "增加排班" in page
    assert qa.post(f"/ledger/{it.id}/close", data={"note": "已核实"}).status_code == 302
    db.session.expire_all()
    it = db.session.get(RectificationItem, it.id)
    assert it.status == "closed" and [e.action for e in it.events][-2:] == ["responded", "closed"]


def test_a_responder_cannot_close_and_qa_cannot_answer_for_the_department(november, as_user):
    w, it = november.world, november.item_oct
    assert as_user(w.responder).post(f"/ledger/{it.id}/close", data={}).status_code == 403
    assert as_user(w.qa).post(f"/ledger/{it.id}/respond", data={"cause": "a", "measures": "b"}).status_code == 403


def test_an_empty_answer_is_refused_with_a_message_and_nothing_changes(november, as_user, db):
    w, it = november.world, november.item_oct
    c = as_user(w.responder)
    c.post(f"/ledger/{it.id}/respond", data={"cause": "", "measures": "b"})
    db.session.expire_all()
    assert db.session.get(RectificationItem, it.id).status == "open"
    assert "Say what caused it." in c.get(f"/ledger/{it.id}").get_data(as_text=True)


def test_qa_of_another_hospital_gets_404_for_items_and_opinions(november, world, as_user, db):
    from followup.security.users import create_user
    other_qa = create_user("qa_b", world.PASSWORD, Role.QA, hospital_code="HB")
    db.session.commit()
    c = as_user(other_qa)
    assert c.get(f"/ledger/{november.item_nov.id}").status_code == 404
    assert c.post(f"/ledger/{november.item_nov.id}/reassign", data={"note": "x"}).status_code == 404
    assert c.post(f"/qa/opinions/{november.complaint.id}/classify",
                  data={"category": "food", "sentiment": "praise"}).status_code == 404
    assert c.get(f"/qa/summary?hospital={world.hospital_a.id}&month=2026-11").status_code == 404


def test_qa_puts_a_suggestion_on_the_ledger_and_reclassifies_through_the_page(november, as_user, db):
    w = november.world
    c = as_user(w.qa)
    r = c.post(f"/qa/opinions/{november.suggestion.id}/ledger",
               data={"ward_id": str(w.orthopaedics.id), "due_date": "2026-12-31"})
    assert r.status_code == 302
    it = db.session.scalar(select(RectificationItem).where(RectificationItem.opinion_id == november.suggestion.id))
    assert (it.source, it.ward_id, it.due_date) == ("qa", w.orthopaedics.id, date(2026, 12, 31))
    r = c.post(f"/qa/opinions/{november.praise.id}/classify",
               data={"category": "medical_quality", "sentiment": "praise", "ward_id": ""})
    assert r.status_code == 302
    assert c.post(f"/qa/opinions/{november.praise.id}/classify",
                  data={"category": "nonsense", "sentiment": "praise"}).status_code == 400
    page = c.get("/qa/opinions?month=2026-11").get_data(as_text=True)
    assert "王护士很耐心" in page


def test_the_ledger_list_counts_and_filters_overdue_items(november, as_user):
    c = as_user(november.world.qa)
    page = c.get("/ledger/?overdue=1").get_data(as_text=True)
    # Today is after every due date of the fixture except December's: three overdue items.
    assert "结账排队" in page and "十月的问题" in page and "已整改" not in page
    assert page.count("badge-overdue") >= 2
    assert c.get("/ledger/?status=bogus").status_code == 400


def test_qa_reassigns_through_the_page_and_the_history_shows_it(november, as_user, db):
    w, it = november.world, november.item_responded
    c = as_user(w.qa)
    r = c.post(f"/ledger/{it.id}/reassign", data={"ward_id": str(w.cardiology.id), "due_date": "2027-01-15",
                                                  "note": "应由心内科负责"})
    assert r.status_code == 302
    db.session.expire_all()
    it = db.session.get(RectificationItem, it.id)
    assert (it.ward_id, it.status, it.due_date) == (w.cardiology.id, "open", date(2027, 1, 15))
    page = c.get(f"/ledger/{it.id}").get_data(as_text=True)
    assert "应由心内科负责" in page
