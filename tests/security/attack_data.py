"""Attack data and helpers for the security tests: hostile strings, a walk over every registered
URL rule with sample arguments, TOTP codes, and what counts as a denial."""
import re
from datetime import date, timedelta

import pyotp
from werkzeug.routing import AnyConverter, IntegerConverter

from followup.core.clock import utcnow

# Hostile text (RELIABILITY.md §(c) B): script, handlers, URLs, attribute break-outs, SSTI,
# textarea break-out, RTL override, log injection, a long message.
XSS_PAYLOADS = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>",
    "javascript:alert(1)", "\"'><b>x</b>", "{{7*7}}", "{% raw %}x", "</textarea><script>alert(2)</script>",
    "\u202eevil.exe", "a\r\nINFO fake log line", "<iframe src=//evil.example>", "<a href=javascript:alert(1)>x</a>",
    "<style>*{display:none}</style>", "${7*7}", "<details open ontoggle=alert(1)>",
    "<math><mi xlink:href=javascript:alert(1)>", "'\";alert(1)//", "<body onload=alert(1)>",
    "<input autofocus onfocus=alert(1)>", "x" * 10_000,
]
# Text that a spreadsheet would run as a formula (RELIABILITY.md §(c) B, formula injection).
FORMULA_PAYLOADS = ["=HYPERLINK(\"http://x\",\"点我\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3+cmd|' /C calc'!A0",
                    "=1+1", "\t=1+1"]
# Substrings that must never reach a page unescaped.
RAW_MARKERS = ["<script>alert", "<img src=x onerror", "<svg onload", "<b>x</b>", "</textarea><script>",
               "<iframe src=//evil", "<a href=javascript:", "<style>*{", "<details open", "<math><mi",
               "<body onload", "<input autofocus", "href=\"javascript:"]

SQLI_PAYLOADS = [
    "' OR 1=1--", "'; DROP TABLE discharge;--", "1) UNION SELECT username, password_hash FROM \"user\"--",
    "1 OR 1=1", "' OR ''='", "1; SELECT pg_sleep(5)--", "'||(SELECT pg_sleep(5))||'", "-1", "0",
    "99999999999999999999", "99999999999", "2147483648", "1e309", "%", "_", "\\", "NULL", "id desc; --", "name asc, (select 1)",
    "\x00", "2026-13-45", "' AND 1=(SELECT COUNT(*) FROM audit_event)--",
]

ALL_ROLES = ["nurse", "ortho_nurse", "nurse_b", "centre", "centre_b", "qa", "hospital_admin", "responder",
             "county_auditor", "city_auditor", "sys_admin", "security_admin", "audit_admin"]


def current_totp(secret: str, at=None) -> str:
    return pyotp.TOTP(secret).at(int((at or utcnow()).timestamp()))


def sample_url(app, rule, ids: dict) -> str:
    """A concrete URL for a rule: int arguments get the id of an object the world has (by the
    argument's name, else 1), `any(...)` the first choice, strings a harmless word."""
    values = {}
    for arg in rule.arguments:
        conv = rule._converters[arg]
        if isinstance(conv, IntegerConverter):
            values[arg] = ids.get(arg, 1)
        elif isinstance(conv, AnyConverter):
            values[arg] = sorted(conv.items)[0]
        else:
            values[arg] = ids.get(arg, "x")
    with app.test_request_context():
        return app.url_for(rule.endpoint, **values)


def walk_rules(app):
    """Every registered rule except static files, sorted for stable output."""
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"
                   and not r.endpoint.endswith(".static")), key=lambda r: (r.rule, r.endpoint))


def ids_for(world) -> dict:
    """Argument name → an id inside hospital A (so in scope for someone, out of scope for others)."""
    d = world.discharge(world.cardiology, name="李四", discharged=date(2026, 11, 19))
    from followup.models import FollowupTask
    from followup.extensions import db
    from sqlalchemy import select
    task = db.session.scalar(select(FollowupTask).where(FollowupTask.discharge_id == d.id))
    from followup.models.plan import FollowupPlan
    plan = FollowupPlan(hospital_id=world.hospital_a.id, name=XSS_PAYLOADS[0][:40] + "心衰", icd_prefix="I50", days=[3, 30],
                        deadline_days=2, fields=["symptoms", "free_text"], script=XSS_PAYLOADS[7])
    db.session.add(plan)
    db.session.commit()
    from followup.models.department import DepartmentFeedback
    from followup.models.opinion import RectificationItem
    item_id = db.session.scalar(select(RectificationItem.id).where(
        RectificationItem.hospital_id == world.hospital_a.id, RectificationItem.ward_id == world.cardiology.id).limit(1))
    feedback_id = db.session.scalar(select(DepartmentFeedback.id).where(
        DepartmentFeedback.ward_id == world.cardiology.id).limit(1))
    return {"discharge_id": d.id, "task_id": task.id, "user_id": world.nurse.id, "ward_id": world.cardiology.id,
            "hospital_id": world.hospital_a.id, "id": d.id, "plan_id": plan.id, "item_id": item_id or 1,
            "feedback_id": feedback_id or 1, **findings_objects(world, task)}


def findings_objects(world, task, text="心内科: 1 项随访任务临近期限") -> dict:
    """Issue 14's objects in hospital A: a notification of the cardiology nurse and a QC review
    of one of the ward's calls (ids for the routes that take them)."""
    from followup.core.clock import utcnow
    from followup.extensions import db
    from followup.models.quality import QcReview, QcSample
    from followup.notifications import notify
    n = notify(db.session, [world.nurse.id], "escalation.task", text, "/calls/", utcnow())[0]
    sample = QcSample(hospital_id=task.hospital_id, month="2026-10", rate_percent=10, seed="ab" * 32)
    db.session.add(sample)
    db.session.flush()
    review = QcReview(sample_id=sample.id, hospital_id=task.hospital_id, task_id=task.id, caller_id=world.nurse.id,
                      ward_id=task.ward_id, level=task.level, note=text)
    db.session.add(review)
    db.session.commit()
    return {"notification_id": n.id, "review_id": review.id}


def is_denied(resp) -> bool:
    if resp.status_code in (401, 403, 404, 405):
        return True
    return resp.status_code == 302 and "/login" in resp.headers.get("Location", "")


def patient_markers(world) -> list[str]:
    """Strings that only patient-level data would carry (name, full and masked phone)."""
    return ["张三", "李四", "13812345678", "138****5678"]


def days_ago(n):
    return utcnow() - timedelta(days=n)


def form_params(html: str) -> set[str]:
    """Names of the inputs of GET forms on a page (the search/filter/sort parameters)."""
    names = set()
    for form in re.findall(r"<form[^>]*method=\"get\"[^>]*>(.*?)</form>", html, flags=re.S | re.I):
        names.update(re.findall(r"name=\"([A-Za-z_][\w\-]*)\"", form))
    return names - {"csrf_token"}
