"""Finding the patient: every format of name, pinyin, phone (any number of the patient, any way
of writing it), 住院号, last 4 digits with a name; within the user's scope only; never by
decrypting numbers; an inbound call lands on the patient's task, claimed, or says why not."""
from datetime import date

import pytest
from sqlalchemy import select

from followup.core.crypto import Keys, keys
from followup.models import FollowupTask, TaskStatus
from followup.patients import search
from tests.import_files import csv_bytes, imported, row

from .conftest import at

FINDS = ["张林", "张", "zl", "ZL", "zhanglin", "zhangl", "Zhang Lin",
         "13015413970", "130 1541 3970", "130-1541-3970", "+86 130 1541 3970", "+8613015413970", "008613015413970",
         "１３０１５４１３９７０", "＋８６ １３０１５４１３９７０",
         "0635-8273456", "(0635)8273456", "（0635）8273456", "06358273456", "0635 827 3456", "+86 635 8273456",
         "ZY000123", "zy000123", "ZY000456",
         "3970 张林", "张林 3970", "张3970", "zl 3970", "zhanglin3970", "3456 zl"]


@pytest.fixture
def no_decrypt(monkeypatch):
    """Any decryption while searching fails the test: numbers are matched by blind index only."""
    def refuse(self, blob):
        raise AssertionError("a number was decrypted to answer a search")
    monkeypatch.setattr(Keys, "decrypt", refuse)


@pytest.mark.parametrize("text", FINDS)
def test_every_format_finds_the_patient(db, world, person, text, no_decrypt):
    world.nurse.wards.append(world.orthopaedics)
    db.session.commit()
    found = search.matching_patient_ids(world.nurse, text, keys())
    assert found and found[0] == person.first.patient_id and person.bystander.patient_id not in found, text
    assert person.first.patient_id in {d.patient_id for d in search.search(world.nurse, text, keys())}


@pytest.mark.parametrize("text", ["林", "3970", "0000 张林", "13015413971", "ZY000999", "zx", "李四 3970", ""])
def test_near_misses_find_nobody_or_not_her(db, world, person, text):
    assert person.patient.id not in search.matching_patient_ids(world.centre, text, keys())


def test_search_never_leaves_the_users_scope(db, world, person):
    # 张林 has the same name (and ID) in hospital B, and a stay in orthopaedics in A
    assert search.matching_patient_ids(world.nurse_b, "13015413970", keys()) == []
    assert search.matching_patient_ids(world.nurse_b, "张林", keys()) == [person.in_b.patient_id]
    assert search.matching_patient_ids(world.centre_b, "ZY000123", keys()) == []
    # the orthopaedics nurse finds her through the orthopaedic stay only
    stays = search.search(world.ortho_nurse, "张林", keys())
    assert [d.inpatient_no for d in stays] == ["ZY000456"]
    assert search.search(world.responder, "张林", keys()) == []   # no patient duties: nothing
    assert search.search(world.county_auditor, "张林", keys()) == []


def test_the_centre_finds_both_stays_newest_first(db, world, person):
    stays = search.search(world.centre, "zhanglin", keys())
    assert [d.inpatient_no for d in stays] == ["ZY000456", "ZY000123"]


def test_imported_patients_are_found_by_every_number(db, world):
    imported(world, csv_bytes([row(no="IMP1", name="曾小明", id_number="", phone="13911112222;0635-8273456")]))
    for text in ("曾小明", "zxm", "zengxiaoming", "139 1111 2222", "(0635)8273456", "2222 zxm", "IMP1"):
        found = search.search(world.centre, text, keys())
        assert [d.inpatient_no for d in found] == ["IMP1"], text


def test_the_discharges_list_uses_the_same_search(db, world, person, as_user):
    page = as_user(world.qa).get("/discharges/?q=0635-8273456").get_data(as_text=True)
    assert "ZY000123" in page and "ZY000456" in page and "ZY0000" not in page.replace("ZY000123", "").replace("ZY000456", "")


def test_an_inbound_call_lands_on_the_patients_task_claimed(db, world, person, as_user, frozen_at):
    frozen_at(at(21, 21))   # outside calling hours: answering the phone is still allowed
    resp = as_user(world.nurse).post("/calls/find", data={"q": "130 1541 3970"})
    ward_task = person.task(person.first, person.W)
    assert resp.status_code == 302 and resp.headers["Location"] == f"/calls/{ward_task.id}"
    db.session.expire_all()
    assert db.session.get(FollowupTask, ward_task.id).claimed_by_id == world.nurse.id


def test_an_inbound_call_says_why_not(db, world, person, as_user, frozen_at):
    frozen_at(at(21, 9))
    from followup.calls import queueing
    queueing.claim_task(world.centre, person.task(person.first, person.H).id, at(21, 9))
    db.session.commit()
    page = as_user(world.nurse).post("/calls/find", data={"q": "13015413970"}).get_data(as_text=True)
    assert world.centre.display_name in page and "09:15" in page
    assert db.session.get(FollowupTask, person.task(person.first, person.W).id).status == TaskStatus.OPEN
    unknown = as_user(world.nurse).post("/calls/find", data={"q": "13900009999"})
    assert unknown.status_code == 200 and "/calls/" not in unknown.headers.get("Location", "")
    assert db.session.scalars(select(FollowupTask).where(FollowupTask.claimed_by_id == world.nurse.id)).all() == []


def test_reindex_command_indexes_patients_written_without_their_search_columns(db, world, runner):
    from followup.models import Patient
    from followup.models.outcome import PatientPhone
    imported(world, csv_bytes([row(no="R1", name="单田芳", id_number="", phone="13911112222;0635-8273456")]))
    db.session.execute(PatientPhone.__table__.delete())
    db.session.execute(Patient.__table__.update().values(name_pinyin=""))
    db.session.commit()
    assert search.search(world.centre, "(0635)8273456", keys()) == []
    out = runner.invoke(args=["followup", "reindex-patients"])
    assert out.exit_code == 0 and "1 patients indexed" in out.output
    assert [d.inpatient_no for d in search.search(world.centre, "shantianfang", keys())] == ["R1"]
    assert [d.inpatient_no for d in search.search(world.centre, "(0635)8273456", keys())] == ["R1"]


def test_a_number_with_an_extension_is_found_by_its_line_its_whole_and_its_last_four(db, world):
    """0635-8273456 转 123: what a caller types is often the line alone; the last four are the line's
    (they once were "=123"). The same index from an import, from the pages' path and from reindex."""
    from followup.models.outcome import PatientPhone
    from followup.patients.identity import set_phones
    from followup.patients.search_index import reindex
    imported(world, csv_bytes([row(no="EXT1", name="王芳", id_number="", phone="0635-8273456 转 123")]))
    hand = world.discharge(world.cardiology, discharged=date(2026, 11, 18), name="赵敏", phone="+8613900000002",
                           inpatient_no="EXT2")
    set_phones(hand.patient, ["+8613900000002", "+866358270001;ext=88"])
    db.session.commit()
    cases = {"EXT1": ("0635-8273456", "(0635)8273456-123", "0635-8273456 转 123", "0635-8273456 ext 123",
                      "3456 王芳", "wf 3456"),
             "EXT2": ("0635-8270001", "0635-8270001-88", "0635 8270001 分机 88", "0001 赵敏", "zm 0001")}

    def found(text):
        return [d.inpatient_no for d in search.search(world.centre, text, keys())]
    for no, texts in cases.items():
        for text in texts:
            assert found(text) == [no], text
    assert found("0635-8273456-124") == []  # another extension of the line is another number
    before = sorted(db.session.execute(select(PatientPhone.patient_id, PatientPhone.phone_hash, PatientPhone.last4,
                                              PatientPhone.position)).all())
    reindex(db.session.connection(), [p for p, *_ in before], keys())
    after = sorted(db.session.execute(select(PatientPhone.patient_id, PatientPhone.phone_hash, PatientPhone.last4,
                                             PatientPhone.position)).all())
    assert after == before and {r.last4 for r in after} >= {"3456", "0001"} and not any("=" in r.last4 for r in after)
