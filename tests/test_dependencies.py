"""The locked dependencies and the scheduled vulnerability check (`flask followup check-deps`)."""
import json
from pathlib import Path

import pytest

from followup.security.dependencies import AdvisoryFileError, load_advisories, read_pins, vulnerable

ROOT = Path(__file__).resolve().parent.parent


def test_every_lock_line_is_pinned_exactly_with_a_hash():
    for name in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / name).read_text()
        blocks = [b for b in text.replace("\\\n", " ").splitlines() if b and not b.lstrip().startswith(("#", "-"))]
        assert blocks, name
        for line in blocks:
            assert "==" in line and "--hash=sha256:" in line, f"{name}: {line[:60]}"


def test_production_lock_holds_no_test_tooling():
    prod = read_pins([ROOT / "requirements.txt"])
    dev = read_pins([ROOT / "requirements-dev.txt"])
    for tool in ("pytest", "hypothesis", "bandit", "schemathesis", "playwright", "faker", "pip-tools"):
        assert tool not in prod and tool in dev
    assert "flask" in prod and "weasyprint" in prod


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


def _lock(tmp_path, *lines):
    p = tmp_path / "requirements.txt"
    p.write_text("\n".join(f"{ln} \\\n    --hash=sha256:{'0' * 64}" for ln in lines) + "\n")
    return p


def test_osv_ranges_flag_only_versions_inside_them(tmp_path):
    lock = _lock(tmp_path, "Jinja2==3.1.4", "werkzeug==3.1.9", "psycopg[binary]==3.3.9")
    osv = [{"id": "GHSA-aaaa", "aliases": ["CVE-2024-1"], "summary": "sandbox escape",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.5"}]}]}]},
           {"id": "GHSA-bbbb", "affected": [{"package": {"ecosystem": "PyPI", "name": "Werkzeug"},
                                             "ranges": [{"type": "ECOSYSTEM",
                                                         "events": [{"introduced": "0"}, {"fixed": "3.1.9"}]}]}]},
           {"id": "GHSA-cccc", "affected": [{"package": {"ecosystem": "npm", "name": "psycopg"},
                                             "versions": ["3.3.9"]}]},
           {"id": "GHSA-dddd", "affected": [{"package": {"ecosystem": "PyPI", "name": "psycopg"},
                                             "versions": ["3.3.9"]}]}]
    found = vulnerable(read_pins([lock]), load_advisories(_write(tmp_path, "osv.json", osv)))
    assert [(f.name, f.version, f.advisory) for f in found] == [("Jinja2", "3.1.4", "GHSA-aaaa"),
                                                                 ("psycopg", "3.3.9", "GHSA-dddd")]
    assert found[0].fixed_in == ("3.1.5",) and found[0].aliases == ("CVE-2024-1",)


def test_last_affected_is_included_and_a_reintroduction_counts(tmp_path):
    events = [{"introduced": "1.0"}, {"last_affected": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.1"}]
    osv = {"id": "PYSEC-1", "affected": [{"package": {"name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}
    adv = load_advisories(_write(tmp_path, "one.json", osv))
    hits = {v for v in ("0.9", "1.0", "1.2", "1.3", "2.0", "2.0.5", "2.1")
            if vulnerable({"x": ("x", v)}, adv)}
    assert hits == {"1.0", "1.2", "2.0", "2.0.5"}


def test_pip_audit_json_is_read(tmp_path):
    audit = {"dependencies": [{"name": "requests", "version": "2.34.2",
                               "vulns": [{"id": "PYSEC-2", "fix_versions": ["2.35"], "aliases": [], "description": "d"}]},
                              {"name": "flask", "version": "3.1.3", "vulns": []}]}
    adv = load_advisories(_write(tmp_path, "audit.json", audit))
    assert [f.advisory for f in vulnerable({"requests": ("requests", "2.34.2")}, adv)] == ["PYSEC-2"]
    assert vulnerable({"requests": ("requests", "2.35")}, adv) == []


def test_unreadable_advisory_file_is_an_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AdvisoryFileError):
        load_advisories(bad)
    with pytest.raises(AdvisoryFileError):
        load_advisories(_write(tmp_path, "odd.json", {"something": 1}))


def test_check_deps_command_lists_findings_and_exits_non_zero(runner, tmp_path):
    pins = read_pins([ROOT / "requirements.txt"])
    name, version = pins["flask"]
    osv = [{"id": "GHSA-test", "aliases": ["CVE-2099-1"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"}, "versions": [version]}]}]
    out = runner.invoke(args=["followup", "check-deps", "--advisories", str(_write(tmp_path, "a.json", osv))])
    assert out.exit_code == 1, out.output
    assert f"{name}=={version}: GHSA-test (CVE-2099-1); no fix yet" in out.output


def test_check_deps_command_is_clean_without_findings_or_file(runner, app, tmp_path, monkeypatch):
    clean = runner.invoke(args=["followup", "check-deps", "--advisories", str(_write(tmp_path, "a.json", []))])
    assert clean.exit_code == 0 and "no known vulnerabilities" in clean.output, clean.output
    monkeypatch.setattr(app, "instance_path", str(tmp_path / "nowhere"))
    absent = runner.invoke(args=["followup", "check-deps"])
    assert absent.exit_code == 0 and "nothing checked" in absent.output, absent.output
    missing = runner.invoke(args=["followup", "check-deps", "--advisories", str(tmp_path / "missing.json")])
    assert missing.exit_code != 0 and "no advisory file" in missing.output
