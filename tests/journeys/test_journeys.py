"""The working day's journeys, each in a real browser at 1366×768 and 1920×1080."""
import pytest

# Jobs run beside the server, as in the embedded default, so pages can watch them progress.
pytestmark = pytest.mark.app_config(JOBS_INLINE_MODE="thread")


def test_f_a_hospital_user_is_refused_the_auditors_pages(journey):
    j = journey()
    j.sign_in("nurse")
    for path in ("/sampling/", "/commission/"):
        j.expect_status(path, 403)
        j.expect_status(path, 404)
        resp = j.page.goto(j.base + path)
        assert resp.status in (403, 404), f"{path} answered {resp.status} to a nurse"
        j.check_language()


def _hospital_calls_done(hospital_code: str):
    """The world before the audit: the hospital reports every hospital-level call done."""
    from sqlalchemy import select, update
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models import FollowupTask, Hospital, Level
    from followup.models.task import TaskStatus
    hid = db.session.scalar(select(Hospital.id).where(Hospital.code == hospital_code))
    db.session.execute(update(FollowupTask).where(
        FollowupTask.hospital_id == hid, FollowupTask.level == Level.HOSPITAL)
        .values(status=TaskStatus.DONE, completed_at=utcnow()))
    db.session.commit()
    db.session.remove()


def test_e_a_county_auditor_draws_calls_and_sees_the_suspect_patient(journey):
    from followup.core.clock import local_date, utcnow
    _hospital_calls_done("H371502001")
    today = local_date(utcnow())  # the demo's discharges are dated by the local calendar
    last_month = f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"
    j = journey()
    j.sign_in("county")
    j.goto("/sampling/")
    j.page.fill("input[name=period]", last_month)
    j.page.fill("input[name=rate]", "1")
    j.page.fill("input[name=public_seed]", "体彩排列三 20261201 第326期 5 1 8")
    j.page.fill("textarea[name=reason]", "月度第三方抽查")
    j.page.click("form.draw-form button.primary")
    j.page.wait_for_url(lambda url: "/sampling/" in url and url.rstrip("/").split("/")[-1].isdigit(),
                        timeout=60_000)
    sample_path = j.page.url.removeprefix(j.base)
    j.check_language()
    j.screenshot(f"auditor_sample_{j.page.viewport_size['width']}")
    j.page.click("a[href*='/records/']")
    j.page.wait_for_load_state("domcontentloaded")
    j.check_language()
    patient = j.page.inner_text("h1").strip()
    # The patient says nobody from the hospital called: it contradicts the hospital's "done".
    j.page.check("input[name=outcome][value=answered]")
    j.page.check("input[name=hospital_called][value=no]")
    j.page.check("input[name=satisfaction][value='2']")
    j.page.fill("textarea[name=opinions]", "出院后没有人给我打过电话")
    j.page.click("form:has(input[name=outcome]) button.primary")
    j.page.wait_for_load_state("domcontentloaded")
    j.check_language()
    assert "医院记录" in j.page.inner_text("body")
    j.page.click(f"main a[href='{sample_path}']")  # back to the sample
    j.page.click("a[href$='/report']")
    j.page.wait_for_load_state("domcontentloaded")
    j.check_language()
    suspects = j.page.inner_text("#suspects + .table-scroll")
    assert patient in suspects and "疑似虚假" in suspects, suspects
    width = j.page.evaluate("document.documentElement.scrollWidth")
    assert width <= j.page.viewport_size["width"], f"the report is {width} px wide"
    j.screenshot(f"auditor_report_{j.page.viewport_size['width']}")


def test_a_a_hospital_admin_uploads_watches_the_progress_and_downloads_the_rejected_rows(journey, tmp_path):
    from tests.import_files import csv_bytes, row
    rows = [row(no=f"JY{i:05d}", name="张林", phone=f"1381234{i:04d}", ward="心内科") for i in range(1, 1500)]
    rows.append(row(no="", name="李四"))                        # no 住院号: cannot name a stay
    rows.append(row(no="JY99999", discharged="2026-13-45"))     # a date that does not exist
    upload = tmp_path / "出院记录.csv"
    upload.write_bytes(csv_bytes(rows))
    j = journey()
    j.sign_in("hadmin")
    j.goto("/imports/")
    j.page.set_input_files("input[name=file]", str(upload))
    j.page.click("form.import-form button")
    j.page.wait_for_selector("#import-progress")
    j.check_language()
    # The bar polls until the batch is finished; the page then shows the result.
    j.page.wait_for_selector("#import-progress:not([hx-get])", timeout=120_000)
    j.check_language()
    j.screenshot(f"import_result_{j.page.viewport_size['width']}")
    stats = j.page.inner_text("#import-progress")
    assert "1499" in stats and "2" in stats, stats
    with j.page.expect_download() as dl:
        j.page.click("a[href$='/rejected.csv']")
    import csv
    import re
    table = list(csv.reader(dl.value.path().read_text(encoding="utf-8-sig").splitlines()))
    assert {r[0] for r in table[1:]} == {"", "JY99999"} and table[1][1] == "李四"
    reasons = [r[-1] for r in table[1:]]
    assert not any(re.search(r"[A-Za-z]{3,}", why) for why in reasons), reasons  # Chinese only


def _local(hour: int, days: int = 0):
    from datetime import datetime, time, timedelta
    from followup.core.clock import LOCAL_TZ, local_date, utcnow
    return datetime.combine(local_date(utcnow()) + timedelta(days=days), time(hour), tzinfo=LOCAL_TZ)


def test_b_a_nurse_sees_why_she_cannot_call_at_night_and_works_her_queue_by_keyboard_at_ten(journey):
    import time_machine
    with time_machine.travel(_local(21), tick=True):
        j = journey()
        j.sign_in("nurse")
        j.goto("/calls/")
        hours = j.page.inner_text(".hours")
        assert "08:30" in hours and "hours-closed" in j.page.get_attribute(".hours", "class"), hours
        j.screenshot(f"queue_21h_{j.page.viewport_size['width']}")
    with time_machine.travel(_local(10, days=1), tick=True):   # the next morning: a new sign-in
        j = journey()
        j.sign_in("nurse")
        j.goto("/calls/")
        assert "hours-open" in j.page.get_attribute(".hours", "class")
        j.screenshot(f"queue_10h_{j.page.viewport_size['width']}")
        j.page.focus("button[accesskey=x]")                 # 下一位 (focused on load; Alt+X)
        j.page.keyboard.press("Enter")                       # claims the most urgent patient
        j.page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
        j.check_language()
        j.screenshot(f"call_screen_10h_{j.page.viewport_size['width']}")
        first = j.page.url
        j.page.focus("button[accesskey=n]")
        j.page.keyboard.press("Enter")                       # 无人接听 (Alt+N)
        j.page.wait_for_selector("#record [autofocus], .attempts li", timeout=15_000)
        j.check_language()
        assert "无人接听" in j.page.inner_text("body")
        # The next patient answers: the save button is on screen without scrolling at 1366×768.
        j.goto("/calls/")
        j.page.focus("button[accesskey=x]")
        j.page.keyboard.press("Enter")
        j.page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit() and url != first)
        j.page.focus("button[accesskey=a]")
        j.page.keyboard.press("Enter")                       # 已接通 (Alt+A): the form opens
        save = j.page.wait_for_selector("button[accesskey=s]", timeout=15_000)
        keys = j.page.eval_on_selector_all("[accesskey]", "els => els.map(e => e.accessKey)")
        assert len(keys) == len(set(keys)), f"one access key for two actions: {sorted(keys)}"
        box = save.bounding_box()
        assert box and box["y"] + box["height"] <= j.page.viewport_size["height"], box


def test_g_a_stay_with_a_malformed_id_number_is_imported_with_a_warning_and_the_ward_corrects_it(journey, tmp_path):
    """Issue 17: the row is kept and callable; the admin sees the warning, the nurse the stay on 待补资料."""
    from tests.import_files import ID_MALE, csv_bytes, row
    upload = tmp_path / "出院记录.csv"
    upload.write_bytes(csv_bytes([row(no="JG00001", name="欧阳建华", id_number="371502196005010013", ward="心内科",
                                      discharged="2026-11-10 10:30"),
                                  row(no="JG00002", name="李秀英", id_number="", sex="女", ward="心内科")]))
    admin = journey()
    admin.sign_in("hadmin")
    admin.goto("/imports/")
    admin.page.set_input_files("input[name=file]", str(upload))
    admin.page.click("form.import-form button")
    admin.page.wait_for_selector("#import-progress:not([hx-get])", timeout=120_000)
    admin.page.wait_for_load_state("domcontentloaded")
    admin.check_language()
    body = admin.page.inner_text("main")
    assert "已导入但需更正" in body and "已导入，该值待更正" in body and "校验码不符" in body, body
    admin.screenshot(f"import_warning_{admin.page.viewport_size['width']}")
    nurse = journey()
    nurse.sign_in("nurse")
    nurse.goto("/calls/needs-data/")
    section = nurse.page.inner_text("main")
    assert "身份证号有误" in section and "欧阳建华" in section and "371502********0013" in section, section
    nurse.page.locator("#bad-id-numbers").scroll_into_view_if_needed()
    nurse.screenshot(f"needs_data_id_{nurse.page.viewport_size['width']}")
    form = nurse.page.locator("tr:has-text('欧阳建华') form")
    form.locator("input[name=id_number]").fill(ID_MALE)
    form.locator("button").click()
    nurse.page.wait_for_load_state("domcontentloaded")
    nurse.check_language()
    assert "欧阳建华" not in nurse.page.inner_text("#bad-id-numbers ~ table"), "still listed after correction"
