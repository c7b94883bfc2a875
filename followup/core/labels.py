"""Display labels for codes stored in the database (roles, statuses, levels). The strings are
English msgids; templates render them with _(code) and the catalogue gives the Chinese."""
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

STORED_LOCALE = "zh_CN"


def stored_text(text) -> str:
    """Text the service itself writes into a record (a ledger item's problem) is stored in the
    service's language, whoever's request (or job) wrote it: every reader sees the same words."""
    with force_locale(STORED_LOCALE):
        return str(text)

ROLE_LABELS = {
    "nurse": _l("nurse"), "centre_staff": _l("centre_staff"), "qa": _l("qa"),
    "hospital_admin": _l("hospital_admin"), "dept_responder": _l("dept_responder"),
    "county_auditor": _l("county_auditor"), "city_auditor": _l("city_auditor"),
    "sys_admin": _l("sys_admin"), "security_admin": _l("security_admin"), "audit_admin": _l("audit_admin"),
}
STATUS_LABELS = {"open": _l("open"), "claimed": _l("claimed"), "done": _l("done"), "lost": _l("lost"),
                 "closed": _l("closed")}
LEVEL_LABELS = {"ward": _l("ward-level"), "hospital": _l("hospital-level")}
# 离院方式 (models/discharge.py DISPOSITIONS holds the standard's own Chinese names, which files and
# the API use as data): the catalogue gives exactly those names in Chinese (a test holds them equal).
DISPOSITION_LABELS = {"1": _l("Discharged on medical advice"), "2": _l("Transferred on medical advice"),
                      "3": _l("Transferred to a community health centre or township hospital on medical advice"),
                      "4": _l("Left against medical advice"), "5": _l("Deceased"), "9": _l("Other")}
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
EVENT_LABELS = {"created": _l("Put on the ledger"), "assigned": _l("Assigned"), "responded": _l("Department answered"),
                "returned": _l("Sent back"), "closed": _l("Verified and closed"),
                "responsible": _l("Responsible person named"), "evidence": _l("Evidence attached"),
                "replied": _l("Patient told"), "finding": _l("Commission finding")}
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
# One intake for complaints and findings (rectification/complaints.py, findings.py).
CHANNEL_LABELS = {"call": _l("Follow-up call"), "hotline_12345": _l("12345 hotline"),
                  "walk_in": _l("Walk-in"), "letter": _l("Letter"), "online": _l("Online"),
                  "referral": _l("Commission referral")}
REPLY_SATISFACTION_LABELS = {"satisfied": _l("Satisfied"), "basically_satisfied": _l("Basically satisfied"),
                             "dissatisfied": _l("Dissatisfied")}
# Where an opinion came from (Opinion.source): a call, an intake channel, or a commission check.
OPINION_SOURCE_LABELS = {"hospital_call": _l("Hospital-level call"), "ward_call": _l("Ward-level call"),
                         "commission_check": _l("Commission check"), **CHANNEL_LABELS}
# A commission finding's status as the commission reads it (the hospital's QA does not verify it).
FINDING_STATUS_LABELS = {"open": _l("Awaiting the hospital's answer"), "responded": _l("Awaiting the commission's verification"),
                         "closed": _l("Struck off")}
WARD_KIND_LABELS = {"clinical": _l("Clinical ward"), "functional": _l("Functional department")}
SOURCE_LABELS = {"complaint": _l("Complaint on a call"), "qa": _l("Put on by QA"), "intake": _l("Complaint intake"),
                 "rating": _l("Poor rating"), "commission": _l("Commission finding")}
FINDING_LABELS = {"consistent": _l("Consistent"), "suspected_false": _l("Suspected false record"),
                  "lost_but_reachable": _l("Lost but reachable"), "not_verifiable": _l("Not verifiable")}
