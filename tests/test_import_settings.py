"""The HIS integration page: a hospital admin creates API tokens (shown once, only their hash
kept), revokes them, and maps her export's own column headers to our fields. Other hospitals'
admins and other roles find nothing there."""
import hashlib
import re

import pytest
from sqlalchemy import func, select

from followup.imports.batches import create_api_token, set_code_map, set_column_mapping
from followup.core.clock import utcnow
from followup.models import AuditEvent, Discharge, Role
from followup.models.imports import HospitalApiToken, HospitalCodeMap, HospitalColumnMapping
from followup.security.users import create_user
from tests.import_files import csv_bytes, imported, row

PAGE = "/imports/integration"


def _token_on(page: str) -> str:
    return re.search(r'<code class="secret token">(fu_[A-Za-z0-9_\-]+)</code>', page).group(1)


def _actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def admin_b(world, db):
    user = create_user("admin_b", world.PASSWORD, Role.HOSPITAL_ADMIN, hospital_code="HB")
    db.session.commit()
    return user


def test_the_imports_page_links_to_the_integration_page(world, as_user):
    page = as_user(world.hospital_admin).get("/imports/").get_data(as_text=True)
    assert f'href="{PAGE}"' in page


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(world, db, as_user):
    admin = as_user(world.hospital_admin)
    resp = admin.post(f"{PAGE}/tokens", data={"label": "东软 HIS"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    page = resp.get_data(as_text=True)
    token = _token_on(page)
    assert "不再显示" in page  # the warning, in Chinese by default
    stored = db.session.scalar(select(HospitalApiToken))
    assert (stored.hospital_id, stored.label) == (world.hospital_a.id, "东软 HIS")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(stored.prefix) and stored.prefix != token
    assert token not in {str(v) for v in vars(stored).values()}  # not kept anywhere in clear
    listing = admin.get(PAGE).get_data(as_text=True)
    assert token not in listing and stored.prefix in listing and "东软 HIS" in listing
    assert "import.token_created" in _actions(db)


def test_the_token_authenticates_the_import_api_until_it_is_revoked(world, db, as_user, client):
    admin = as_user(world.hospital_admin)
    token = _token_on(admin.post(f"{PAGE}/tokens", data={"label": "HIS"}).get_data(as_text=True))
    auth = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/imports/files", data=csv_bytes([row()]), headers=auth)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert db.session.scalar(select(Discharge)).hospital_id == world.hospital_a.id
    stored = db.session.scalar(select(HospitalApiToken))
    db.session.refresh(stored)
    assert stored.last_used_at is not None
    assert "never" not in admin.get(PAGE).get_data(as_text=True).split("<tbody>")[1].split("</tbody>")[0]

    resp = admin.post(f"{PAGE}/tokens/{stored.id}/revoke")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(PAGE)
    assert client.post("/api/v1/imports/files", data=csv_bytes([row(no="Z2")]), headers=auth).status_code == 401
    db.session.refresh(stored)
    first_revoked = stored.revoked_at
    assert first_revoked is not None
    assert admin.post(f"{PAGE}/tokens/{stored.id}/revoke").status_code == 302  # twice: no change
    db.session.refresh(stored)
    assert stored.revoked_at == first_revoked
    assert _actions(db).count("import.token_revoked") == 1
    page = admin.get(PAGE).get_data(as_text=True)
    assert f'/tokens/{stored.id}/revoke"' not in page  # no revoke button on a revoked token


def test_a_token_needs_a_label_of_at_most_64_characters(world, db, as_user):
    admin = as_user(world.hospital_admin)
    for label in ("", "   ", "x" * 65):
        resp = admin.post(f"{PAGE}/tokens", data={"label": label})
        assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True)
    assert db.session.scalar(select(HospitalApiToken)) is None


def test_a_mapping_is_added_listed_with_the_fields_chinese_name_and_used_by_the_next_import(world, db, as_user, client):
    admin = as_user(world.hospital_admin)
    resp = admin.post(f"{PAGE}/mappings", data={"source_header": " 本人电话 ", "field": "phone"})
    assert resp.status_code == 302
    mapping = db.session.scalar(select(HospitalColumnMapping))
    assert (mapping.hospital_id, mapping.source_header, mapping.field) == (world.hospital_a.id, "本人电话", "phone")
    page = admin.get(PAGE).get_data(as_text=True)
    assert "本人电话" in page and "联系电话" in page  # phone shown by its Chinese header
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import.mapping_set")).detail == \
        {"header": "本人电话", "field": "phone"}
    # the same header again changes the field, it does not add a second row
    admin.post(f"{PAGE}/mappings", data={"source_header": "本人电话", "field": "name"})
    db.session.expire_all()
    assert [(m.source_header, m.field) for m in db.session.scalars(select(HospitalColumnMapping))] == \
        [("本人电话", "name")]


def test_an_unknown_field_or_a_missing_header_is_an_error_on_the_form(world, db, as_user):
    admin = as_user(world.hospital_admin)
    for data in ({"source_header": "本人电话", "field": "password_hash"}, {"source_header": "本人电话", "field": ""},
                 {"source_header": "", "field": "phone"}, {"source_header": "x" * 65, "field": "phone"}):
        resp = admin.post(f"{PAGE}/mappings", data=data)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and 'class="error"' in page, data
    page = admin.post(f"{PAGE}/mappings", data={"source_header": "本人电话", "field": "nope"},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<small class="error">Choose one of our fields.</small>' in page
    assert 'value="本人电话"' in page  # what she typed stays in the form
    assert db.session.scalar(select(HospitalColumnMapping)) is None


def test_a_mapping_is_deleted_and_the_deletion_audited(world, db, as_user):
    row_id = set_column_mapping(world.hospital_a, "本人电话", "phone").id
    db.session.commit()
    admin = as_user(world.hospital_admin)
    assert admin.post(f"{PAGE}/mappings/{row_id}/delete").status_code == 302
    assert db.session.scalar(select(HospitalColumnMapping)) is None
    assert "import.mapping_deleted" in _actions(db)
    assert admin.post(f"{PAGE}/mappings/{row_id}/delete").status_code == 404


def test_another_hospitals_admin_sees_and_touches_none_of_it(world, db, admin_b, as_user, client):
    row, token = create_api_token(world.hospital_a, "HIS-A", utcnow())
    mapping = set_column_mapping(world.hospital_a, "本人电话", "phone")
    db.session.commit()
    them = as_user(admin_b)
    page = them.get(PAGE).get_data(as_text=True)
    assert "HIS-A" not in page and row.prefix not in page and "本人电话" not in page
    assert them.post(f"{PAGE}/tokens/{row.id}/revoke").status_code == 404
    assert them.post(f"{PAGE}/mappings/{mapping.id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(HospitalApiToken, row.id).revoked_at is None
    assert db.session.get(HospitalColumnMapping, mapping.id) is not None
    # what she creates is her own hospital's
    them.post(f"{PAGE}/tokens", data={"label": "HIS-B"})
    them.post(f"{PAGE}/mappings", data={"source_header": "手机号码2", "field": "phone"})
    assert db.session.scalar(select(HospitalApiToken).where(HospitalApiToken.label == "HIS-B")).hospital_id == \
        world.hospital_b.id
    assert db.session.scalar(select(HospitalColumnMapping).where(
        HospitalColumnMapping.source_header == "手机号码2")).hospital_id == world.hospital_b.id


@pytest.mark.parametrize("who", ["nurse", "centre", "qa", "responder", "county_auditor", "city_auditor",
                                 "sys_admin", "security_admin", "audit_admin"])
def test_other_roles_get_404(who, world, db, as_user):
    row, _token = create_api_token(world.hospital_a, "HIS", utcnow())
    mapping = set_column_mapping(world.hospital_a, "本人电话", "phone")
    code = set_code_map(world.hospital_a, "disposition", "07", "2")
    db.session.commit()
    them = as_user(getattr(world, who))
    assert them.get(PAGE).status_code == 404
    assert them.post(f"{PAGE}/tokens", data={"label": "x"}).status_code == 404
    assert them.post(f"{PAGE}/tokens/{row.id}/revoke").status_code == 404
    assert them.post(f"{PAGE}/mappings", data={"source_header": "x", "field": "phone"}).status_code == 404
    assert them.post(f"{PAGE}/mappings/{mapping.id}/delete").status_code == 404
    assert them.post(f"{PAGE}/codes", data={"source_code": "x", "code": "1"}).status_code == 404
    assert them.post(f"{PAGE}/codes/{code.id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(HospitalApiToken).where(HospitalApiToken.label == "x")) is None
    assert db.session.get(HospitalApiToken, row.id).revoked_at is None
    assert db.session.get(HospitalColumnMapping, mapping.id).field == "phone"
    assert [(c.source_code, c.code) for c in db.session.scalars(select(HospitalCodeMap))] == [("07", "2")]


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    resp = client.get(PAGE)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_every_change_needs_the_csrf_token(make_app, world, db, login):
    app = make_app(WTF_CSRF_ENABLED=True)
    row, _token = create_api_token(world.hospital_a, "HIS", utcnow())
    mapping = set_column_mapping(world.hospital_a, "本人电话", "phone")
    code = set_code_map(world.hospital_a, "disposition", "A7", "4")
    db.session.commit()
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    client.post("/login", data={"username": world.hospital_admin.username, "password": world.PASSWORD,
                                "csrf_token": csrf})
    for url, data in ((f"{PAGE}/tokens", {"label": "x"}), (f"{PAGE}/tokens/{row.id}/revoke", {}),
                      (f"{PAGE}/mappings", {"source_header": "x", "field": "phone"}),
                      (f"{PAGE}/mappings/{mapping.id}/delete", {}),
                      (f"{PAGE}/codes", {"source_code": "07", "code": "2"}), (f"{PAGE}/codes/{code.id}/delete", {})):
        assert client.post(url, data=data).status_code == 400, url
    db.session.expire_all()
    assert db.session.scalar(select(HospitalApiToken).where(HospitalApiToken.label == "x")) is None
    assert db.session.get(HospitalApiToken, row.id).revoked_at is None
    assert db.session.get(HospitalColumnMapping, mapping.id) is not None
    assert [(c.source_code, c.code) for c in db.session.scalars(select(HospitalCodeMap))] == [("A7", "4")]
    # with the token from the page, the same post works
    page = client.get(PAGE).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(f"{PAGE}/tokens/{row.id}/revoke", data={"csrf_token": csrf}).status_code == 302


def test_labels_and_headers_are_escaped(world, db, as_user):
    admin = as_user(world.hospital_admin)
    admin.post(f"{PAGE}/tokens", data={"label": "<script>alert(1)</script>"})
    admin.post(f"{PAGE}/mappings", data={"source_header": "<img src=x onerror=alert(1)>", "field": "phone"})
    page = admin.get(PAGE).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_page_is_in_chinese_by_default_and_english_on_request(world, as_user):
    admin = as_user(world.hospital_admin)
    assert "API 令牌" in admin.get(PAGE).get_data(as_text=True)
    assert "API tokens" in admin.get(PAGE, headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_mapping_a_recognised_header_says_what_it_changes(world, db, as_user):
    admin = as_user(world.hospital_admin)
    en = {"Accept-Language": "en"}
    page = admin.post(f"{PAGE}/mappings", data={"source_header": "患者 姓名", "field": "name"}, headers=en,
                      follow_redirects=True).get_data(as_text=True)
    assert ">This header is recognised without a mapping too" in page  # the message
    assert "(recognised without a mapping too)" in page  # and the note in the list
    page = admin.post(f"{PAGE}/mappings", data={"source_header": "电话", "field": "name"}, headers=en,
                      follow_redirects=True).get_data(as_text=True)
    assert ">Without the mapping this header is read as 联系电话 (phone)" in page
    assert "(without the mapping: 联系电话)" in page
    page = admin.post(f"{PAGE}/mappings", data={"source_header": "本人电话", "field": "phone"}, headers=en,
                      follow_redirects=True).get_data(as_text=True)
    assert ">This header is" not in page and ">Without the mapping" not in page


def test_one_header_has_one_mapping_whatever_its_spacing_and_a_concurrent_save_updates_it(world, db, monkeypatch):
    from followup.imports import batches
    from followup.models.imports import HospitalColumnMapping
    h = world.hospital_a
    batches.set_column_mapping(h, "病人电话", "phone")
    batches.set_column_mapping(h, "病人　电话 ", "name")   # full-width space: the same header on import
    db.session.commit()
    rows = db.session.scalars(select(HospitalColumnMapping).where(HospitalColumnMapping.hospital_id == h.id)).all()
    assert [(r.source_header, r.field) for r in rows] == [("病人电话", "name")]
    # Another admin saved the header between our look-up and our insert: theirs is updated, no 500.
    real, calls = batches._mapping_for, []

    def not_yet_seen(hospital_id, header):
        calls.append(header)
        return None if len(calls) == 1 else real(hospital_id, header)

    monkeypatch.setattr(batches, "_mapping_for", not_yet_seen)
    row = batches.set_column_mapping(h, "病人电话", "phone")
    db.session.commit()
    assert len(calls) == 2 and row.field == "phone"
    assert db.session.scalar(select(func.count()).select_from(HospitalColumnMapping)
                             .where(HospitalColumnMapping.hospital_id == h.id)) == 1


# --- the hospital's own 离院方式 codes ------------------------------------------------------------

def test_a_code_of_the_hospitals_own_is_saved_listed_audited_and_read_by_the_next_import(world, db, as_user):
    admin = as_user(world.hospital_admin)
    before = imported(world, csv_bytes([row(no="C0", disposition="07")]))
    assert before.status == "completed"
    assert db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "C0")).disposition == ""  # kept, flagged
    resp = admin.post(f"{PAGE}/codes", data={"source_code": " ０７ ", "code": "2"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "自下次导入起，离院方式代码“07”按 2 医嘱转院 读取。" in page  # full-width digits read as the import reads them
    assert "<code>07</code>" in page and "离院方式代码" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import.code_map_set")).detail == \
        {"field": "disposition", "source_code": "07", "code": "2"}
    imported(world, csv_bytes([row(no="C1", disposition="07")]))
    assert db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "C1")).disposition == "2"
    # the same code in another case or spacing changes its meaning: one row, never two
    admin.post(f"{PAGE}/codes", data={"source_code": "a9", "code": "4"})
    admin.post(f"{PAGE}/codes", data={"source_code": "A9 ", "code": "9"})
    db.session.expire_all()
    assert sorted((c.source_code, c.code) for c in db.session.scalars(select(HospitalCodeMap))) == \
        [("07", "2"), ("A9", "9")]


def test_a_code_without_a_meaning_or_a_meaning_outside_the_table_is_an_error_on_the_form(world, db, as_user):
    admin = as_user(world.hospital_admin)
    for data in ({"source_code": "07", "code": ""}, {"source_code": "07", "code": "8"},
                 {"source_code": "", "code": "2"}, {"source_code": "x" * 33, "code": "2"}):
        resp = admin.post(f"{PAGE}/codes", data=data)
        assert resp.status_code == 200 and 'class="error"' in resp.get_data(as_text=True), data
    page = admin.post(f"{PAGE}/codes", data={"source_code": "07", "code": "8"}).get_data(as_text=True)
    assert "请从离院方式代码中选择一个。" in page and 'value="07"' in page
    assert db.session.scalar(select(HospitalCodeMap)) is None


def test_a_code_is_deleted_audited_and_then_read_by_the_standard_tables(world, db, as_user, admin_b):
    code_id = set_code_map(world.hospital_a, "disposition", "07", "2").id
    db.session.commit()
    assert as_user(admin_b).post(f"{PAGE}/codes/{code_id}/delete").status_code == 404  # not her hospital's
    assert "<code>07</code>" not in as_user(admin_b).get(PAGE).get_data(as_text=True)
    admin = as_user(world.hospital_admin)
    page = admin.post(f"{PAGE}/codes/{code_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "代码“07”已恢复按标准代码读取。" in page and "暂无自定义代码" in page
    assert db.session.scalar(select(HospitalCodeMap)) is None and "import.code_map_deleted" in _actions(db)
    assert admin.post(f"{PAGE}/codes/{code_id}/delete").status_code == 404
    imported(world, csv_bytes([row(no="C2", disposition="07")]))
    assert db.session.scalar(select(Discharge).where(Discharge.inpatient_no == "C2")).disposition == ""


def test_a_code_saved_by_another_admin_between_look_up_and_insert_is_updated_not_doubled(world, db, monkeypatch):
    from followup.imports import batches
    real, calls = batches._code_map_for, []
    batches.set_code_map(world.hospital_a, "disposition", "07", "4")
    db.session.commit()

    def not_yet_seen(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(batches, "_code_map_for", not_yet_seen)
    row = batches.set_code_map(world.hospital_a, "disposition", "07", "2")
    db.session.commit()
    assert len(calls) == 2 and row.code == "2"
    assert [(c.source_code, c.code) for c in db.session.scalars(select(HospitalCodeMap))] == [("07", "2")]
