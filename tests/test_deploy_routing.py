"""The reports pool: nginx, systemd, the Procfile and bin/prod-local route the same pages to it,
and every prefix names pages the app has (a renamed blueprint would otherwise fall silently back
to the callers' pool)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "deploy"))
import prod_local  # noqa: E402


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as fh:
        return fh.read()


def test_nginx_sends_exactly_the_report_prefixes_to_the_reports_upstream():
    conf = _read("deploy", "nginx", "followup.conf")
    located = re.findall(r"location ~ \^/\(([a-z|]+)\)/ \{\s*proxy_pass http://followup_reports;", conf)
    assert len(located) == 1
    assert tuple(located[0].split("|")) == prod_local.REPORT_PREFIXES
    port = re.search(r"upstream followup_reports \{\s*server 127\.0\.0\.1:(\d+)", conf).group(1)
    assert f"GUNICORN_BIND=127.0.0.1:{port}" in _read("deploy", "systemd", "followup-web-reports.service")
    assert f"GUNICORN_BIND=127.0.0.1:{port}" in _read("deploy", "Procfile")


def test_every_report_prefix_is_a_blueprint_of_the_app_and_no_caller_page_is_one(app):
    prefixes = {rule.rule.split("/")[1] for rule in app.url_map.iter_rules()}
    assert set(prod_local.REPORT_PREFIXES) <= prefixes
    for caller_path in ("/api/v1/calls/next", "/calls/", "/calls/board/", "/work/1", "/imports/", "/healthz"):
        assert not prod_local.is_report_path(caller_path)
    assert prod_local.is_report_path("/qa/summary") and prod_local.is_report_path("/sampling/draw")


def test_only_the_reports_pool_runs_niced_in_every_deployment_file():
    """Not the workers nor cron: they hold row locks callers wait for (a niced lock holder is a
    slow one)."""
    assert "\nNice=10\n" in _read("deploy", "systemd", "followup-web-reports.service")
    for unit in ("followup-web.service", "followup-worker@.service", "followup-cron.service"):
        assert "Nice=" not in _read("deploy", "systemd", unit), unit
    procfile = dict(line.split(": ", 1) for line in _read("deploy", "Procfile").splitlines()
                    if line and not line.startswith("#"))
    assert {name for name, cmd in procfile.items() if "nice -n" in cmd} == {"web_reports"}
    assert f"nice -n {prod_local.REPORTS_NICE} gunicorn" in procfile["web_reports"]
