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
    j.screenshot("auditor_sample")
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
    j.screenshot("auditor_report")


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
    j.screenshot("import_progress")
    # The bar polls until the batch is finished; the page then shows the result.
    j.page.wait_for_selector("#import-progress:not([hx-get])", timeout=120_000)
    j.check_language()
    j.screenshot("import_result")
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


def _on_a_call(j, previous: str = ""):
    """Wait for the call screen of a task other than `previous`; return its address."""
    j.page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit() and url != previous)
    j.check_language()
    return j.page.url


_FOCUS = """() => { const e = document.activeElement, r = e.getBoundingClientRect();
  const bar = document.querySelector('#record .form-actions'), b = bar && bar.getBoundingClientRect();
  return {name: e.name || '', tag: e.tagName, key: e.accessKey || '', top: r.top, bottom: r.bottom,
          barTop: b ? b.top : innerHeight, height: innerHeight}; }"""


def _press(j, key: str, expect: str | None = None) -> dict:
    """Press a key; the focused element (its name matching `expect`) is on screen, not under the
    sticky save bar."""
    import re
    if key.startswith("Alt+"):
        j.alt(key[-1], shift="Shift+" in key)
    else:
        j.page.keyboard.press(key)
    f = j.page.evaluate(_FOCUS)
    if expect is not None:
        assert re.fullmatch(expect, f["name"]), f"after {key} the focus is on {f}, not {expect}"
    limit = f["height"] if f["tag"] == "BUTTON" else min(f["barTop"], f["height"])
    assert f["top"] >= 0 and f["bottom"] <= limit + 1, f"after {key} the focused field is hidden: {f}"
    return f


def test_b_a_nurse_sees_why_she_cannot_call_at_night_and_works_her_queue_by_keyboard_at_ten(journey):
    import time_machine
    with time_machine.travel(_local(21), tick=True):
        j = journey()
        j.sign_in("nurse")
        j.goto("/calls/")
        hours = j.page.inner_text(".hours")
        assert "08:30" in hours and "hours-closed" in j.page.get_attribute(".hours", "class"), hours
        j.screenshot("queue_21h")
    with time_machine.travel(_local(10, days=1), tick=True):   # the next morning: a new sign-in
        j = journey()
        j.sign_in("nurse")
        j.goto("/calls/")
        assert "hours-open" in j.page.get_attribute(".hours", "class")
        j.screenshot("queue_10h")
        # From here on the keyboard only: access keys, Tab, arrows, Space — no clicks.
        j.alt("x")                       # 下一位: claims the most urgent patient
        first = _on_a_call(j)
        # The screen opens at its top: the name, the number and the outcome buttons, not the form.
        assert j.page.evaluate("scrollY") == 0 and j.page.is_visible("#phones a.tel.big")
        j.screenshot("call_screen")
        j.alt("n")                       # 无人接听
        j.page.wait_for_selector("#record .done", timeout=15_000)
        j.check_language()
        assert "无人接听" in j.page.inner_text("#attempts")
        assert j.page.evaluate(_FOCUS)["key"] == "x", "after the call ends, 下一位 has the focus"
        j.alt("x")                       # the next patient
        _on_a_call(j, previous=first)
        assert j.page.locator("#record .guidance-area").count() == 5, "a ward-level form"
        keys = j.page.eval_on_selector_all("[accesskey]", "els => els.map(e => e.accessKey)")
        assert len(keys) == len(set(keys)), f"one access key for two actions: {sorted(keys)}"
        # "?" lists every shortcut the page has, and those this journey uses.
        j.page.keyboard.press("?")
        listed = j.page.wait_for_selector("#shortcuts[open]").inner_text()
        j.check_language()
        j.screenshot("call_screen_shortcuts")
        missing = [k for k in [f"Alt+{k.upper()}" for k in keys] + ["Alt+G", "Alt+Shift+G", "Tab", "空格",
                                                                   "Ctrl+Enter", "Esc"] if k not in listed]
        assert not missing, f"not in the shortcut list: {missing}"
        j.page.keyboard.press("Escape")
        j.page.wait_for_selector("#shortcuts:not([open])", state="attached")
        j.alt("a")                       # 已接通: the form takes the focus
        j.page.wait_for_selector("#attempts li:has-text('已接通')", timeout=15_000)
        save = j.page.wait_for_selector("button[accesskey=s]")
        box = save.bounding_box()
        assert box and box["y"] + box["height"] <= j.page.viewport_size["height"], box
        j.page.wait_for_function("document.activeElement && document.activeElement.name === 'condition'")
        _press(j, "ArrowDown", "condition")                 # the second condition (好转)
        for i in range(j.page.locator("#record .med-row").count()):
            _press(j, "Tab", rf"medication_adherence\.{i}\.as_prescribed")
            j.page.keyboard.press("Space")                   # 是: taken as prescribed
            _press(j, "Tab", rf"medication_adherence\.{i}\.note")
        _press(j, "Tab", r"guidance\.medication\.given")
        j.page.keyboard.press("Space")
        _press(j, "Tab", r"guidance\.medication\.choices")
        j.page.keyboard.press("Space")                       # its first point
        _press(j, "Alt+G", r"guidance\.rehab\.given")        # the next guidance area
        _press(j, "Tab", r"guidance\.rehab\.choices")
        j.page.keyboard.press("Space")
        _press(j, "Alt+G", r"guidance\.daily_living\.given")
        _press(j, "Alt+G", r"guidance\.diet\.given")
        _press(j, "Tab", r"guidance\.diet\.choices")
        j.page.keyboard.press("Space")
        _press(j, "Alt+Shift+G", r"guidance\.daily_living\.given")  # and back one
        j.screenshot("call_screen_ward_form")
        task_id = int(j.page.url.rstrip("/").split("/")[-1])
        j.alt("s")                       # 保存
        j.page.wait_for_selector("#record .done .ok-text", timeout=15_000)
        j.check_language()
        assert j.page.evaluate(_FOCUS)["key"] == "x", "after saving, 下一位 has the focus"
        _the_ward_record_is(task_id, condition_index=1, areas=("medication", "rehab", "diet"))
        # The head nurse's board, as the nurse (she is her wards' head nurse in the demo).
        j.goto("/calls/board/")
        j.screenshot("board")


def _the_ward_record_is(task_id: int, *, condition_index: int, areas: tuple[str, ...]):
    from sqlalchemy import select
    from followup.calls import vocabulary
    from followup.extensions import db
    from followup.models.call import WardFollowup
    rec = db.session.scalar(select(WardFollowup).where(WardFollowup.task_id == task_id))
    assert rec is not None, "the form was not saved"
    assert rec.condition == list(vocabulary.CONDITION_LABELS)[condition_index]
    assert rec.medication_adherence and all(m["as_prescribed"] for m in rec.medication_adherence)
    given = {a for a, g in rec.guidance.items() if g["given"]}
    assert given == set(areas), rec.guidance
    for a in areas:
        assert rec.guidance[a]["choices"] == [next(iter(vocabulary.GUIDANCE_CHOICES[a]))], rec.guidance[a]
    db.session.remove()


def test_c_centre_staff_record_a_billing_complaint_that_lands_on_the_cashiers_office(journey):
    import time_machine
    words = "出院结算时多收了一天床位费，收费窗口也解释不清"
    with time_machine.travel(_local(10), tick=True):
        j = journey()
        j.sign_in("centre")
        j.goto("/calls/")
        j.page.click("button[accesskey=x]")                  # 下一位: a hospital-level call
        _on_a_call(j)
        j.page.click("button[accesskey=a]")                  # 已接通
        j.page.wait_for_selector("#attempts li:has-text('已接通')", timeout=15_000)
        assert j.page.locator("input[name=sat_overall]").count() == 5, "a hospital-level form"
        j.page.check("input[name=sat_overall][value='4']")
        j.page.check("input[name=sat_cost][value='3']")
        j.page.fill("textarea[name='opinions.0.text']", words)
        j.page.check("input[name='opinions.0.sentiment'][value=complaint]")
        j.page.select_option("select[name='opinions.0.category']", "cost")
        # The department follows the category: billing goes to 收费处, not the patient's ward.
        dept = j.page.eval_on_selector("select[name='opinions.0.ward_id']", "s => s.options[s.selectedIndex].text")
        assert dept == "收费处", dept
        j.check_language()
        j.screenshot("call_screen_hospital_form")
        j.page.click("button[accesskey=s]")
        j.page.wait_for_selector("#record .done .ok-text", timeout=15_000)
        j.check_language()
        # The cashier's office (收费处) finds it on its ledger, waiting for its answer.
        cashier = journey()
        cashier.sign_in("cashier")
        cashier.goto("/ledger/")
        row = cashier.page.locator("main table tbody tr", has_text=words)
        assert row.count() == 1, cashier.page.inner_text("main")
        assert "收费处" in row.inner_text() and "待科室答复" in row.inner_text(), row.inner_text()
        cashier.screenshot("ledger_cashier")
        row.locator("a").first.click()
        cashier.page.wait_for_load_state("domcontentloaded")
        cashier.check_language()
        main = cashier.page.inner_text("main")
        assert words in main and "收费处" in main, main


def _a_complaint_about(ward_code: str, words: str) -> None:
    """The world before QA's month: centre staff recorded a complaint about a ward on a call."""
    from sqlalchemy import select
    from followup.calls import queueing, records
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models import FollowupTask, Hospital, Level, TaskStatus, User, Ward
    now = utcnow()
    centre = db.session.scalar(select(User).where(User.username == "centre"))
    ward = db.session.scalar(select(Ward).join(Hospital, Hospital.id == Ward.hospital_id)
                             .where(Hospital.code == "H371500001", Ward.code == ward_code))
    task = db.session.scalars(select(FollowupTask).where(
        FollowupTask.hospital_id == ward.hospital_id, FollowupTask.level == Level.HOSPITAL,
        FollowupTask.status == TaskStatus.OPEN, FollowupTask.needs_data.is_(None))
        .order_by(FollowupTask.due_at)).first()
    queueing.claim_task(centre, task.id, now, inbound=True)   # the patient rang: hours do not apply
    records.save_hospital_followup(centre, task, {"sat_overall": 3, "opinions": [
        {"text": words, "sentiment": "complaint", "category": "communication", "ward_id": ward.id}]}, now)
    db.session.commit()
    db.session.remove()


def _stat_tiles(j) -> dict[str, str]:
    return dict(j.page.evaluate("""() => [...document.querySelectorAll('.stats .stat')].map(s =>
        [s.querySelector('span').firstChild.textContent.trim(), s.querySelector('b').textContent.trim()])"""))


def _rate_table(j) -> tuple[list[str], dict[str, list[str]]]:
    """The summary's first rate table (by department): headers and {department: cells}."""
    headers = [h.strip() for h in j.page.locator("table.rates >> nth=0").locator("thead th").all_inner_texts()]
    rows = {}
    for tr in j.page.locator("table.rates >> nth=0").locator("tbody tr").all():
        cells = [c.strip() for c in tr.locator("td").all_inner_texts()]
        rows[cells[0]] = cells
    return headers, rows


def _same(page_text: str, cell) -> bool:
    if page_text in ("—", ""):
        return cell in (None, "")
    return cell is not None and float(page_text.rstrip("%")) == float(cell)


def _charts_drawn(j):
    """Every chart container of the page has its chart drawn (an svg or canvas inside), however
    many charts the page has; then the drawing's animation is given time to end."""
    j.page.wait_for_function("""() => { const c = document.querySelectorAll('[data-chart], .chart');
        return c.length > 0 && [...c].every(e => e.querySelector('svg, canvas')); }""", timeout=15_000)
    j.page.wait_for_timeout(1500)


def _summary_matches_its_excel(qa):
    """The summary page's figures and its Excel: the sheets are there, the overview says what the
    tiles say, each department's row has the page's figures. Returns (tiles, workbook)."""
    import io
    import openpyxl
    tiles = _stat_tiles(qa)
    headers, rows = _rate_table(qa)
    with qa.page.expect_download() as dl:
        qa.page.click("a[href*='summary.xlsx']")
    wb = openpyxl.load_workbook(io.BytesIO(dl.value.path().read_bytes()), data_only=True)
    assert {"概况", "科室随访", "满意度", "意见建议", "投诉", "整改台账"} <= set(wb.sheetnames), wb.sheetnames
    overview = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=2, values_only=True)}
    for label in ("符合条件", "投诉", "未销号整改项", "超期整改项"):
        assert str(overview[label]) == tiles[label], (label, overview[label], tiles[label])
    sheet = list(wb["科室随访"].iter_rows(values_only=True))
    by_ward = {r[0]: dict(zip(sheet[0], r)) for r in sheet[1:]}
    assert set(by_ward) == set(rows) - {"全院"}, (set(by_ward), set(rows))
    shared = [h for h in headers[1:] if h in sheet[0]]
    assert len(shared) >= 5, (headers, sheet[0])
    for ward, cells in rows.items():
        figures = overview if ward == "全院" else by_ward[ward]
        for h in shared:
            page_text = cells[headers.index(h)]
            assert _same(page_text, figures.get(h)), (ward, h, page_text, figures.get(h))
    assert len(list(wb["整改台账"].iter_rows(min_row=2))) == int(tiles["未销号整改项"])
    return tiles, wb


def test_d_qa_reads_the_summary_follows_an_item_to_its_close_and_opens_the_excel(journey):
    words = "护士交代出院带药时讲得太快，没听明白怎么吃"
    _a_complaint_about("XNK", words)
    qa = journey()
    qa.sign_in("qa")
    # The month the complaint was recorded in, named: in a month's first days the page opens on
    # the month before (and at 16:00 UTC on the 30th it is already the 1st in China).
    from followup.core.clock import local_date, utcnow
    this_month = f"/qa/summary?month={local_date(utcnow()):%Y-%m}"
    qa.goto(this_month)
    _charts_drawn(qa)
    # The complaint is in the month's complaints and, open, on the month's ledger.
    assert qa.page.locator("main tr", has_text=words).count() == 2, qa.page.inner_text("main")
    open_before = int(_stat_tiles(qa)["未销号整改项"])
    qa.screenshot("qa_summary_month_to_date")
    qa.page.click("main a[href*='summary?month='] >> nth=0")  # ‹ last month, the one with most calls
    qa.page.wait_for_load_state("domcontentloaded")
    qa.check_language()
    _charts_drawn(qa)
    qa.screenshot("qa_summary")
    _summary_matches_its_excel(qa)

    qa.goto("/ledger/")
    qa.screenshot("ledger")
    qa.page.locator("main table tbody tr", has_text=words).locator("a").first.click()
    qa.page.wait_for_load_state("domcontentloaded")
    qa.check_language()
    item_path = qa.page.url.removeprefix(qa.base)
    assert "心内科" in qa.page.inner_text("main")
    qa.screenshot("ledger_item")

    dept = journey()
    dept.sign_in("responder")                                # 心内科's head
    dept.goto(item_path)
    dept.page.fill("textarea[name=cause]", "出院宣教时间仓促")
    dept.page.fill("textarea[name=measures]", "出院带药逐项讲解并发放用药卡，护士长抽查")
    dept.page.click("form[action$='/respond'] button.primary")
    dept.page.wait_for_load_state("domcontentloaded")
    dept.check_language()
    assert "待质控核实" in dept.page.inner_text("main")

    qa.goto(item_path)
    qa.page.fill("form[action$='/close'] input[name=note]", "抽查三例，已按要求讲解")
    qa.page.click("form[action$='/close'] button.primary")
    qa.page.wait_for_load_state("domcontentloaded")
    qa.check_language()
    assert "此项已销号" in qa.page.inner_text("main")

    qa.goto(this_month)
    _charts_drawn(qa)
    rows_now = qa.page.locator("main tr", has_text=words)     # struck off: only the complaint is left
    assert rows_now.count() == 1 and "已销号" in rows_now.inner_text(), rows_now.all_inner_texts()
    tiles, wb = _summary_matches_its_excel(qa)
    assert int(tiles["未销号整改项"]) == open_before - 1, (tiles, open_before)
    overview = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=2, values_only=True)}
    assert overview["本月销号"] >= 1
    complaint_rows = [r for r in wb["投诉"].iter_rows(values_only=True) if words in (r[3] or "")]
    assert len(complaint_rows) == 1 and complaint_rows[0][-1] == "已销号", complaint_rows
    assert not [r for r in wb["整改台账"].iter_rows(values_only=True) if words in str(r[-1] or "")]


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
