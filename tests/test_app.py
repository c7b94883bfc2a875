"""The application factory, configuration, the embedded default and the security headers."""
import os
import subprocess
import sys

from followup import create_app


def test_embedded_default_uses_sqlite_under_instance_without_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app()
    assert app.config["EMBEDDED"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/followup.sqlite")
    assert app.config["REDIS_URL"] is None


def test_real_deployment_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1/nowhere")
    monkeypatch.delenv("FOLLOWUP_SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    code = ("import followup\n"
            "try:\n  followup.create_app()\nexcept RuntimeError as e:\n  print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert "refused: FOLLOWUP_SECRET_KEY must be set" in out.stdout, out.stderr


def test_postgresql_url_is_switched_to_psycopg3(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql://u@127.0.0.1/x")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_security_headers_on_every_response_including_errors(client):
    for path in ("/login", "/no-such-page"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_are_chinese_by_default_and_english_on_request(client):
    zh = client.get("/login").get_data(as_text=True)
    assert "登录" in zh
    en = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in en and "登录" not in en


def test_no_cdn_or_external_urls_in_templates():
    root = os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates")
    for dirpath, _, files in os.walk(root):
        for f in files:
            body = open(os.path.join(dirpath, f), encoding="utf-8").read()
            assert "http://" not in body and "https://" not in body, f
