"""Journeys in a real browser: the app served on a free port from a thread of the test process
(so `time_machine` can set the server's clock), Debian's Chromium driven by Playwright (never
`playwright install`), a demo city seeded through the same builders as `flask followup seed-demo`.

Every page a journey opens is watched: an HTTP answer ≥ 400 the journey did not expect, a console
error, or a Latin-script word in a zh-CN page outside a short allow-list fails the journey."""
import re
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"1366x768": {"width": 1366, "height": 768}, "1920x1080": {"width": 1920, "height": 1080}}

# Words in Latin script a Chinese page may show: brand and format names, units, code systems.
ALLOWED_LATIN = {
    "followup", "Excel", "CSV", "PDF", "HL7", "FHIR", "ADT", "API", "ICD", "ID", "TOTP", "QR",
    "HIS", "OpenAPI", "JSON", "URL", "MB", "KB", "GB", "ms", "kg", "cm", "mmHg", "bpm", "UTC",
    "xlsx", "csv", "pdf", "PNG", "JPEG", "Bearer", "SHA", "HMAC", "Chromium", "IP", "PV1", "TXT",
    "English",  # the language switch names each language in itself
    "Alt", "Ctrl", "Shift", "Enter", "Esc", "Tab",  # keyboard keys as printed on them
    "Firefox", "Chrome",  # browser names in the access-key hint
}
# Word boundaries in ASCII only: a Latin word glued to Chinese ("演示cashier") is still a word;
# letters glued to digits or a dot/slash/@ are codes, numbers with units or addresses.
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_.@/-])([A-Za-z][A-Za-z]+)(?![A-Za-z0-9_.@/-])")


def latin_words(text: str) -> list[str]:
    """Latin words in visible text, minus the allow-list and codes (letters with digits)."""
    return sorted({w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN})


@pytest.fixture
def demo_city(app):
    """The demo city with its accounts; returns {username: password}."""
    from followup.cli.demo_world import seed_calls, seed_discharges, seed_organisations, seed_users
    from followup.extensions import db
    seed_organisations()
    accounts = seed_users()
    db.session.commit()
    seed_discharges(120)
    db.session.commit()
    seed_calls(12)
    db.session.commit()
    db.session.remove()
    return accounts


@pytest.fixture
def live_server(app, demo_city):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


class Journey:
    """One user's browser tab with the checks every journey applies."""

    def __init__(self, browser, base, viewport, accounts):
        self.base, self.accounts = base, accounts
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN",
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.expected_status: set[tuple[str, int]] = set()
        self._cdp = None
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("response", self._response)

    def _console(self, msg):
        # A failed resource load is already judged by _response, against the expected answers.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {self.page.url}: {msg.text}")

    def _response(self, resp):
        path = resp.url.removeprefix(self.base)
        if resp.status >= 400 and (path.split("?")[0], resp.status) not in self.expected_status:
            self.problems.append(f"HTTP {resp.status} on {path}")

    def expect_status(self, path: str, status: int):
        self.expected_status.add((path, status))

    def goto(self, path: str):
        self.page.goto(self.base + path)
        self.check_language()

    def check_language(self):
        """A zh-CN page shows no Latin words outside the allow-list."""
        self.page.wait_for_load_state("domcontentloaded")
        words = latin_words(self.page.inner_text("body"))
        if words:
            self.problems.append(f"Latin words on {self.page.url.removeprefix(self.base)}: {words}")

    def sign_in(self, username: str):
        self.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", self.accounts[username])
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("domcontentloaded")
        assert "/login" not in self.page.url, f"{username} could not sign in"
        self.check_language()

    def alt(self, letter: str, shift: bool = False):
        """Alt+letter (Alt+Shift+letter) as Chromium gets it from a real keyboard: Alt down, the
        key down, the system character that fires an access key, both up. Playwright's
        keyboard.press("Alt+x") sends no such character, so no access key would fire."""
        if self._cdp is None:
            self._cdp = self.context.new_cdp_session(self.page)
        mods = 1 | (8 if shift else 0)  # CDP modifiers: Alt = 1, Shift = 8
        ch = letter.upper() if shift else letter.lower()
        key = {"key": ch, "code": f"Key{letter.upper()}", "windowsVirtualKeyCode": ord(letter.upper())}
        alt = {"key": "Alt", "code": "AltLeft", "windowsVirtualKeyCode": 18}
        send = self._cdp.send
        send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "modifiers": 1, **alt})
        send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "modifiers": mods, **key})
        send("Input.dispatchKeyEvent", {"type": "char", "modifiers": mods, "text": ch, "unmodifiedText": ch,
                                        "isSystemKey": True, "key": ch})
        send("Input.dispatchKeyEvent", {"type": "keyUp", "modifiers": mods, **key})
        send("Input.dispatchKeyEvent", {"type": "keyUp", "modifiers": 0, **alt})

    def screenshot(self, name: str):
        """With FOLLOWUP_SCREENSHOTS=DIR, the visible window as DIR/name.png (at 1366 wide; other
        widths get their width appended), reduced to 256 colours so the PNGs stay small."""
        import io
        import os
        out = os.environ.get("FOLLOWUP_SCREENSHOTS")
        if not out:
            return
        from PIL import Image
        os.makedirs(out, exist_ok=True)
        width = self.page.viewport_size["width"]
        path = os.path.join(out, f"{name}.png" if width == 1366 else f"{name}_{width}.png")
        shot = Image.open(io.BytesIO(self.page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)

    def finish(self):
        self.context.close()
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture(params=sorted(VIEWPORTS))
def journey(request, browser, live_server, demo_city):
    journeys = []

    def start():
        j = Journey(browser, live_server, request.param, demo_city)
        journeys.append(j)
        return j
    yield start
    for j in journeys:
        j.finish()
