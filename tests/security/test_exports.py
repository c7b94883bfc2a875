"""Every download any role can get (CSV, xlsx), built from a world full of hostile text: no cell
is a formula, every risky text cell is neutralised, and no phone or ID number leaves unmasked
unless the export is the hospital admin's own rejected-rows file."""
import csv
import io
import re

import openpyxl
import pytest

from attack_data import ALL_ROLES, ids_for, sample_url, walk_rules

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
RISKY = ("=", "+", "-", "@", "\t", "\r", "\0")
# The audit export's SHA-256 chain hashes: hex that now and then holds 11 digits in a row.
DIGEST = re.compile(r"[0-9a-f]{64}")
# Exports whose purpose is to give back what the uploader sent (they hold the raw rows).
# The rejected rows go back to the hospital that sent them, raw by design; the import template
# holds one fixed example row (the standard's sample ID number, a service number), no patient.
RAW_BY_DESIGN = {"imports.rejected_csv", "imports.template_download"}


def _cells(resp):
    """(text cells, formula cells) of a CSV or xlsx download."""
    if resp.mimetype.endswith("spreadsheetml.sheet"):
        wb = openpyxl.load_workbook(io.BytesIO(resp.data))
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        return [c.value for c in cells if c.data_type == "s"], [c.coordinate for c in cells if c.data_type == "f"]
    rows = csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline=""))
    return [v for row in rows for v in row], []


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("who", ALL_ROLES)
def test_every_export_is_formula_safe_and_masked(who, hostile_world, as_user, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = as_user(getattr(hostile_world, who))
    ids = ids_for(hostile_world)
    problems, downloads = [], 0
    for rule in walk_rules(app):
        if "GET" not in rule.methods:
            continue
        for url in {sample_url(app, rule, ids), sample_url(app, rule, ids) + "?format=csv"}:
            resp = client.get(url)
            if resp.status_code != 200 or not (resp.mimetype == "text/csv" or resp.mimetype.endswith("sheet")):
                continue
            downloads += 1
            texts, formulas = _cells(resp)
            if formulas:
                problems.append((url, "formula cells", formulas[:3]))
            risky = [t for t in texts if t and t.startswith(RISKY) and not _is_number(t)]
            if risky:
                problems.append((url, "unneutralised", risky[:3]))
            if rule.endpoint not in RAW_BY_DESIGN:
                leaked = [t for t in texts if t and not DIGEST.fullmatch(t)
                          and (PHONE.search(t) or ID_NUMBER.search(t))]
                if leaked:
                    problems.append((url, "unmasked", leaked[:3]))
    assert not problems, problems
    if who == "audit_admin":
        assert downloads >= 1  # the audit log export at least
