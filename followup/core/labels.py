"""Display labels for codes stored in the database (roles, statuses, levels). The strings are
English msgids; templates render them with _(code) and the catalogue gives the Chinese."""
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "nurse": _l("nurse"), "centre_staff": _l("centre_staff"), "qa": _l("qa"),
    "hospital_admin": _l("hospital_admin"), "dept_responder": _l("dept_responder"),
    "county_auditor": _l("county_auditor"), "city_auditor": _l("city_auditor"),
    "sys_admin": _l("sys_admin"), "security_admin": _l("security_admin"), "audit_admin": _l("audit_admin"),
}
STATUS_LABELS = {"open": _l("open"), "claimed": _l("claimed"), "done": _l("done"), "lost": _l("lost"),
                 "closed": _l("closed")}
LEVEL_LABELS = {"ward": _l("ward-level"), "hospital": _l("hospital-level")}
FORM_LABELS = [_l("Username"), _l("Password")]
# Opinions and the rectification ledger (models/opinion.py).
CATEGORY_LABELS = {
    "service_attitude": _l("Service attitude"), "medical_quality": _l("Medical quality"),
    "communication": _l("Communication"), "cost": _l("Cost and billing"),
    "waiting_process": _l("Waiting and process"), "environment": _l("Environment and cleanliness"),
    "food": _l("Food"), "parking_access": _l("Parking and access"), "other": _l("Other"),
}
SENTIMENT_LABELS = {"complaint": _l("Complaint"), "suggestion": _l("Suggestion"), "praise": _l("Praise")}
ITEM_STATUS_LABELS = {"open": _l("Awaiting response"), "responded": _l("Awaiting verification"),
                      "closed": _l("Closed")}
SATISFACTION_LABELS = {"overall": _l("Overall"), "doctors": _l("Doctors"), "nurses": _l("Nurses"),
                       "environment": _l("Environment"), "cost": _l("Cost"), "process": _l("Process")}
EVENT_LABELS = {"created": _l("Put on the ledger"), "assigned": _l("Assigned"), "responded": _l("Answered"),
                "returned": _l("Sent back"), "closed": _l("Verified and closed")}
# The figures of every rate table (pages, exports, the commission table): key → label. The
# exception kinds are reports/rates.EXCEPTIONS (one label each, checked there).
RATE_LABELS = {
    "discharges": _l("Number of discharges"), "deceased": _l("Excluded: died in hospital"), "eligible": _l("Eligible for follow-up"),
    "not_yet_due": _l("Not yet due"), "due": _l("Due for follow-up"), "reached": _l("Followed up"),
    "died_after_discharge": _l("Died after discharge"), "do_not_call": _l("Do not call"), "refused": _l("Refused"),
    "readmitted": _l("Readmitted"), "invalid_number": _l("Invalid number (all numbers tried)"),
    "exceptions": _l("Documented exceptions"), "lost": _l("Lost to follow-up"), "needs_data": _l("Needs data"),
    "overdue": _l("Overdue"), "followup_rate": _l("Follow-up rate (%)"), "raw_rate": _l("Raw rate (%)"),
    "on_time_rate": _l("On-time rate (%)"), "ward_rate": _l("Ward-level rate (%)"),
    "ward_on_time_rate": _l("Ward-level on-time (%)"), "hospital_rate": _l("Hospital-level rate (%)"),
    "hospital_on_time_rate": _l("Hospital-level on-time (%)"),
}
RATE_DEFINITIONS = (
    _l("Follow-up rate = reached ÷ (due − documented exceptions)."),
    _l("Raw rate = reached ÷ due, with no exception set aside."),
    _l("Due = eligible discharges whose 7-day deadline has passed or whose follow-up has ended; eligible = discharges minus those who died in hospital."),
    _l("Documented exceptions: died after discharge, do not call, refused, readmitted, invalid number after all numbers were tried."),
)
