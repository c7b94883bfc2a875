"""Signing a benchmark's simulated user in through the real login form, as a browser does: the
form's CSRF token, the password, then the page's CSRF token kept as the X-CSRFToken header for
the JSON API and htmx posts (bench/load.py, bench/queue.py)."""
import re

PASSWORD = "bench-password-123"  # every benchmark user's password (the scratch databases only)


def sign_in(base: str, username: str, password: str = PASSWORD):
    """A requests.Session signed in as `username`, with X-CSRFToken set; the token is also
    `session.headers["X-CSRFToken"]` for forms that post it as a field. Exits on a refused login."""
    import requests
    s = requests.Session()
    page = s.get(f"{base}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = s.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": token},
               allow_redirects=False)
    if r.status_code != 302:
        raise SystemExit(f"login of {username} failed: {r.status_code}")
    home = s.get(f"{base}/").text
    s.headers["X-CSRFToken"] = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
    return s
