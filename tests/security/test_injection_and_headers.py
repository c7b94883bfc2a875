"""Hostile input parsed everywhere: SQL injection in every search/filter/sort/page parameter, CSRF
on every state-changing route, security headers on every response, the upload limit, and the
Swagger UI under the CSP. (XSS on every page for every role: test_authorization_matrix.py walks
every route in a world full of payloads and checks the escaping.)"""
import re

import pytest

from attack_data import SQLI_PAYLOADS, form_params, ids_for, sample_url, walk_rules

# Tried on every page besides the parameters its GET forms declare.
COMMON_PARAMS = ["q", "page", "sort", "order", "ward", "status", "from", "to", "limit", "offset"]


def _get_pages(app, ids):
    for rule in walk_rules(app):
        if "GET" in rule.methods and not rule.endpoint.startswith("api-docs"):
            yield rule, sample_url(app, rule, ids)


def test_xss_payload_text_reaches_some_page_so_the_escaping_check_means_something(hostile_world, as_user, app):
    client = as_user(hostile_world.qa)
    bodies = "".join(r.get_data(as_text=True) for r in (client.get(url) for _, url in _get_pages(app, ids_for(hostile_world)))
                     if r.mimetype == "text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bodies


@pytest.mark.parametrize("who", ["nurse", "centre", "qa", "hospital_admin", "county_auditor", "audit_admin"])
def test_sql_injection_in_every_search_filter_sort_and_page_parameter(who, world, as_user, app):
    """No 500, and nothing from outside the user's scope (hospital B's patient) appears."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    world.discharge(world.ward_b, name="王五")
    client = as_user(getattr(world, who))
    ids = ids_for(world)
    failures, tried = [], 0
    for rule, url in _get_pages(app, ids):
        first = client.get(url)
        if first.status_code != 200 or first.mimetype != "text/html":
            continue  # not this role's page
        params = form_params(first.get_data(as_text=True)) | set(COMMON_PARAMS)
        for name in sorted(params):
            for payload in SQLI_PAYLOADS:
                resp = client.get(url, query_string={name: payload})
                tried += 1
                body = resp.get_data(as_text=True) if resp.mimetype.startswith(("text/", "application/json")) else ""
                if resp.status_code >= 500 or "王五" in body or "$argon2" in body:
                    failures.append((url, name, payload, resp.status_code))
    assert tried > 100
    assert not failures, failures[:20]


def test_every_state_changing_route_refuses_a_post_without_the_csrf_token(make_app, world, login):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    # sign in with a token taken from the form, as a browser would
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": world.qa.username,
                                       "password": world.PASSWORD, "csrf_token": token}).status_code == 302
    ids = ids_for(world)
    unprotected = []
    for rule in walk_rules(app):
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods:
            continue
        url = sample_url(app, rule, ids)
        for method in methods:
            resp = client.open(url, method=method, data={"x": "1"})
            if resp.status_code != 400 and not (rule.endpoint.startswith("api_imports") and resp.status_code == 401):
                unprotected.append((rule.endpoint, method, resp.status_code))
    assert not unprotected, unprotected
    assert client.get("/").status_code == 200  # still signed in: the refusals changed nothing


def test_security_headers_on_pages_errors_and_api(world, as_user, app):
    client = as_user(world.nurse)
    for path in ("/", "/login", "/no-such-page", "/api/v1/me", "/api/v1/openapi.json", "/api/v1/docs",
                 "/discharges/999999"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'",
                          "frame-ancestors 'none'", "base-uri 'none'"):
            assert directive in csp, (path, directive)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"


def test_swagger_ui_runs_without_inline_script(client):
    resp = client.get("/api/v1/docs")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, flags=re.S)
    assert scripts and all("src=" in attrs and not inner.strip() for attrs, inner in scripts)
    assert "/static/js/swagger-init.js" in body and "/static/vendor/swagger-ui/" in body
    assert client.get("/static/js/swagger-init.js").status_code == 200


def test_an_upload_over_the_limit_gets_a_clear_413_page(make_app, world, login):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = login(app.test_client(), world.hospital_admin)
    resp = client.post("/login", data={"username": "x" * 4096, "password": "y"})
    assert resp.status_code == 413
    assert "1024" not in resp.get_data(as_text=True)  # the limit is stated in MB, in words
    assert "MB" in resp.get_data(as_text=True)
    resp = client.post("/api/v1/me", data=b"x" * 4096, content_type="application/octet-stream")
    assert resp.status_code in (405, 413)
