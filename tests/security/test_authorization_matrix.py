"""The authorization matrix, walked over EVERY registered URL rule × every role (and anonymous),
in a world full of hostile text (XSS payloads in patient names, opinions and ledger items).

ALLOW says which roles may use an endpoint. Everyone else must get 401/403/404/405 or the
redirect to the sign-in page, never data; roles that never see patients never get a patient's
name or phone from any endpoint. A new route fails this test until it is added to ALLOW: add
your endpoint there with the roles that need it (that is the review of who may see it).
The same walk checks that every HTML page escapes the hostile text and has no inline script."""
import re

import pytest

from followup.models import Role

from attack_data import ALL_ROLES, RAW_MARKERS, ids_for, is_denied, patient_markers, sample_url, walk_rules

ANON = "anonymous"
EVERYONE = frozenset(r.value for r in Role)
PUBLIC = EVERYONE | {ANON}
CALLERS = frozenset({Role.NURSE, Role.CENTRE_STAFF})
HOSPITAL_PATIENT_ROLES = frozenset({Role.NURSE, Role.CENTRE_STAFF, Role.QA, Role.HOSPITAL_ADMIN})
AUDITORS = frozenset({Role.COUNTY_AUDITOR, Role.CITY_AUDITOR})

ALLOW: dict[str, frozenset] = {
    # sign-in and housekeeping
    "auth.login": PUBLIC, "auth.set_language": PUBLIC, "main.healthz": PUBLIC, "main.readyz": PUBLIC,
    "auth.second_factor": frozenset(), "auth.enrol": frozenset(),  # only with a pre-auth marker
    "auth.logout": EVERYONE, "main.index": EVERYONE,
    "account.index": EVERYONE, "account.sign_out_everywhere": EVERYONE, "account.recovery_codes": EVERYONE,
    "api_meta.me": EVERYONE, "api-docs.openapi_json": PUBLIC, "api-docs.openapi_swagger_ui": PUBLIC,
    # separation of duties
    "admin.organisations": {Role.SYS_ADMIN}, "admin.users": {Role.SYS_ADMIN},
    "admin.user_detail": {Role.SYS_ADMIN}, "admin.user_action": {Role.SYS_ADMIN},
    "security_admin.policy": {Role.SECURITY_ADMIN}, "security_admin.second_factors": {Role.SECURITY_ADMIN},
    "security_admin.reset_second_factor": {Role.SECURITY_ADMIN},
    "audit_log.index": {Role.AUDIT_ADMIN},
    # patient records
    "discharges.index": HOSPITAL_PATIENT_ROLES,
    "discharges.show": HOSPITAL_PATIENT_ROLES,
    "discharges.reveal_contact": CALLERS,
    # calls (issue 5)
    "calls.queue": CALLERS, "calls.screen": CALLERS, "calls.attempt": CALLERS, "calls.claim": CALLERS,
    "calls.opinion_row": CALLERS, "calls.record": CALLERS, "calls.release": CALLERS,
    "calls.acknowledge_alert": CALLERS | {Role.QA}, "calls.next_call": CALLERS,
    "board.index": CALLERS, "board.assign": CALLERS, "board.assign_many": CALLERS,
    # patient-level outcomes, search, call settings (issue 13)
    "calls.find": CALLERS,
    "marks.index": {Role.HOSPITAL_ADMIN}, "marks.lift": {Role.HOSPITAL_ADMIN},  # and head nurses (flag)
    "marks.import_list": {Role.HOSPITAL_ADMIN}, "call_settings.edit": {Role.HOSPITAL_ADMIN},
    "needs_data.index": {Role.NURSE}, "needs_data.complete": {Role.NURSE},  # issue 17: stays to complete
    "scripts.index": CALLERS | {Role.QA, Role.HOSPITAL_ADMIN}, "scripts.edit": {Role.QA, Role.HOSPITAL_ADMIN},
    "scripts.preview": {Role.QA, Role.HOSPITAL_ADMIN},
    "api_calls.next_call": CALLERS, "api_calls.queue": CALLERS | {Role.QA, Role.HOSPITAL_ADMIN},
    "api_calls.show": CALLERS,
    "api_calls.assign": CALLERS, "api_calls.record_attempt": CALLERS, "api_calls.claim": CALLERS,
    "api_calls.release": CALLERS,
    "api_records.save_ward": CALLERS, "api_records.save_hospital": CALLERS,
    # a discharge's calls read back (issue 13): the roles that open discharge records
    "api_records.discharge_calls": HOSPITAL_PATIENT_ROLES,
    # follow-up plans (issue 13): the hospital admin defines them
    "plans.index": {Role.HOSPITAL_ADMIN}, "plans.switch": {Role.HOSPITAL_ADMIN},
    # imports (issue 4)
    "imports.index": {Role.HOSPITAL_ADMIN}, "imports.show": {Role.HOSPITAL_ADMIN},
    "imports.progress": {Role.HOSPITAL_ADMIN}, "imports.rejected_csv": {Role.HOSPITAL_ADMIN},
    "imports.template_download": {Role.HOSPITAL_ADMIN},
    "api_imports.get_batch": {Role.HOSPITAL_ADMIN}, "api_imports.get_rejected": {Role.HOSPITAL_ADMIN},
    "api_imports.post_fhir": {Role.HOSPITAL_ADMIN}, "api_imports.post_file": {Role.HOSPITAL_ADMIN},
    "api_imports.post_hl7": {Role.HOSPITAL_ADMIN},
    "imports.integration": {Role.HOSPITAL_ADMIN}, "imports.create_token": {Role.HOSPITAL_ADMIN},
    "imports.revoke_token": {Role.HOSPITAL_ADMIN}, "imports.add_mapping": {Role.HOSPITAL_ADMIN},
    "imports.delete_mapping": {Role.HOSPITAL_ADMIN}, "imports.add_code_map": {Role.HOSPITAL_ADMIN},
    "imports.delete_code": {Role.HOSPITAL_ADMIN},
    # QA and the ledger (issue 6)
    "qa.opinions": {Role.QA}, "qa.reclassify": {Role.QA}, "qa.put_on_ledger": {Role.QA},
    "qa.summary": {Role.QA, Role.HOSPITAL_ADMIN} | AUDITORS,  # figures, no patients
    "qa.summary_export": {Role.QA, Role.HOSPITAL_ADMIN},
    "qa.generate": {Role.QA}, "qa.snapshot_export": {Role.QA, Role.HOSPITAL_ADMIN},
    "ledger.index": {Role.QA, Role.DEPT_RESPONDER, Role.HOSPITAL_ADMIN},
    "ledger.show": {Role.QA, Role.DEPT_RESPONDER, Role.HOSPITAL_ADMIN},
    "ledger.take_step": {Role.QA, Role.DEPT_RESPONDER},
    # commissions and sampling (issue 7)
    "commission.index": AUDITORS, "commission.export": AUDITORS,
    "sampling.index": AUDITORS, "sampling.draw": AUDITORS, "sampling.show": AUDITORS,
    "sampling.call": AUDITORS, "sampling.attempt": AUDITORS, "sampling.unreachable": AUDITORS,
    "sampling.verify": AUDITORS, "sampling.report": AUDITORS,
    # findings flow back (issue 14): departments, feedback, complaint intake, commission findings
    "departments.index": {Role.HOSPITAL_ADMIN}, "departments.import_file": {Role.HOSPITAL_ADMIN},
    "departments.set_route": {Role.HOSPITAL_ADMIN},
    "feedback.index": {Role.DEPT_RESPONDER, Role.QA}, "feedback.show": {Role.DEPT_RESPONDER, Role.QA},
    "feedback.export": {Role.DEPT_RESPONDER, Role.QA}, "feedback.acknowledge": {Role.DEPT_RESPONDER},
    "complaints.new": {Role.QA, Role.CENTRE_STAFF}, "complaints.register": {Role.QA, Role.CENTRE_STAFF},
    "complaints.responsible": {Role.QA}, "complaints.reply": {Role.QA},
    "complaints.evidence": {Role.QA, Role.DEPT_RESPONDER},
    "complaints.evidence_file": {Role.QA, Role.DEPT_RESPONDER} | AUDITORS,
    "findings.index": AUDITORS, "findings.show": AUDITORS, "findings.take_step": AUDITORS,
    "findings.raise_finding": AUDITORS,
    # findings flow back (issue 14): notifications, call quality control, composite score
    "notifications.index": EVERYONE, "notifications.open_one": EVERYONE, "notifications.read_all": EVERYONE,
    "quality.index": {Role.QA}, "quality.draw": {Role.QA}, "quality.rate": {Role.QA},
    "quality.review": {Role.QA}, "quality.reveal_contact": {Role.QA},
    "escalation.settings": {Role.QA, Role.HOSPITAL_ADMIN},
    "commission.score": AUDITORS, "commission.notice": AUDITORS, "commission.weights": {Role.CITY_AUDITOR},
    # long work (draws, large exports): each row is its creator's only (tests/qa/test_export_jobs.py)
    "work.show": EVERYONE, "work.progress": EVERYONE, "work.download_result": EVERYONE,
}
# Roles whose duties never include a patient (separation of duties; access.NO_PATIENT_ROLES).
NO_PATIENT = [Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN]


def _allowed(endpoint) -> set[str]:
    return {str(r) for r in ALLOW[endpoint]}


def _request(client, rule, url):
    if "GET" in rule.methods:
        return client.get(url)
    return client.post(url, data={})


def test_every_registered_route_is_in_the_matrix(app):
    missing = sorted({r.endpoint for r in walk_rules(app)} - set(ALLOW))
    assert not missing, (f"routes without an authorization decision: {missing}; add them to ALLOW "
                         "in tests/security/test_authorization_matrix.py with the roles that need them")


@pytest.mark.parametrize("who", ALL_ROLES + [ANON])
def test_roles_outside_an_endpoints_scope_get_nothing_and_pages_escape_hostile_text(who, hostile_world,
                                                                                     as_user, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # collect 500s instead of stopping at the first
    world = hostile_world
    ids = ids_for(world)
    role = ANON if who == ANON else getattr(world, who).role
    client = app.test_client() if who == ANON else as_user(getattr(world, who))
    leaks, errors, unescaped, checked = [], [], [], 0
    for rule in walk_rules(app):
        if rule.endpoint not in ALLOW or rule.endpoint in ("auth.logout", "account.sign_out_everywhere"):
            continue  # unknown endpoints fail the test above; signing out would end this walk
        resp = _request(client, rule, sample_url(app, rule, ids))
        checked += 1
        body = resp.get_data(as_text=True) if resp.mimetype.startswith(("text/", "application/json")) else ""
        if resp.status_code >= 500:
            errors.append((rule.endpoint, resp.status_code))
        if role not in _allowed(rule.endpoint) and not is_denied(resp):
            leaks.append((rule.endpoint, rule.methods - {"HEAD", "OPTIONS"}, resp.status_code))
        if resp.mimetype == "text/html":
            unescaped += [(rule.endpoint, m) for m in RAW_MARKERS if m in body]
            if ">49<" in body:
                unescaped.append((rule.endpoint, "template expression evaluated"))
            if any("src=" not in attrs for attrs in re.findall(r"<script([^>]*)>", body)):
                unescaped.append((rule.endpoint, "inline script"))
        if role in NO_PATIENT or role == ANON:
            seen = [m for m in patient_markers(world) if m in body]
            if seen:
                leaks.append((rule.endpoint, "patient data", seen))
    assert checked > 20
    assert not errors, f"{who}: server errors {errors}"
    assert not unescaped, f"{who}: hostile text reached a page unescaped: {unescaped}"
    assert not leaks, f"{who} reached endpoints outside its duties: {leaks}"
