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
