"""The package layout holds (issue 12): thin route handlers, rules that take their settings as
arguments instead of reading the app, and nothing loose at the top of followup/."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "followup"
MAX_HANDLER_LINES = 20
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}

# Handlers still over the limit in modules other helpers own this round; the lead shrinks the list
# at merge. An entry that is no longer over the limit fails too, so the list only ever shrinks.
LONG_HANDLERS_STILL_ALLOWED: set[str] = set()
# Packages whose rules take their settings as arguments: no current_app below the routes, jobs and CLI.
SETTINGS_AS_ARGUMENTS = ["calls", "imports", "patients", "reports", "sampling", "core/crypto.py"]
# Files there that still read the app, being reworked by another helper this round (same rule as above).
CURRENT_APP_STILL_ALLOWED: set[str] = set()
TOP_LEVEL_MODULES = {"__init__.py", "config.py", "extensions.py"}


def _is_route(decorator) -> bool:
    return (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_DECORATORS)


def handler_lengths(routes_dir: Path = PACKAGE / "routes") -> dict[str, int]:
    """{"module.py:function": lines from `def` to the handler's last line} for every function
    (or method of a routed class) under a route decorator."""
    out = {}
    for path in sorted(routes_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(map(_is_route, node.decorator_list)):
                for m in node.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        out[f"{path.name}:{node.name}.{m.name}"] = m.end_lineno - m.lineno + 1
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(map(_is_route, node.decorator_list)):
                out[f"{path.name}:{node.name}"] = node.end_lineno - node.lineno + 1
    return out


def reads_current_app(path: Path) -> bool:
    """An import of flask's current_app (by any alias), or `flask.current_app` spelled out."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask.globals") and \
                any(a.name == "current_app" for a in node.names):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "current_app":
            return True
    return False


def test_route_handlers_are_at_most_twenty_lines():
    lengths = handler_lengths()
    assert len(lengths) > 50  # the walk finds the handlers at all
    too_long = {name: n for name, n in lengths.items() if n > MAX_HANDLER_LINES}
    assert set(too_long) - LONG_HANDLERS_STILL_ALLOWED == set(), \
        f"route handlers over {MAX_HANDLER_LINES} lines: build the page data in the capability package: {too_long}"
    stale = LONG_HANDLERS_STILL_ALLOWED - set(too_long)
    assert not stale, f"now short enough (or gone): remove from LONG_HANDLERS_STILL_ALLOWED: {sorted(stale)}"


def test_the_length_check_sees_a_long_handler_and_a_routed_class(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_HANDLER_LINES))
    (tmp_path / "pages.py").write_text(
        f"@bp.route('/')\n@login_required\ndef long():\n{body}\n\n@bp.get('/s')\ndef short():\n    return 1\n\n"
        "@blp.route('/x')\nclass Things(MethodView):\n    def get(self):\n        return []\n")
    assert handler_lengths(tmp_path) == {"pages.py:long": MAX_HANDLER_LINES + 1, "pages.py:short": 2,
                                         "pages.py:Things.get": 2}


def _settings_files():
    for entry in SETTINGS_AS_ARGUMENTS:
        path = PACKAGE / entry
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_rules_do_not_read_the_app():
    files = list(_settings_files())
    assert len(files) > 20
    reading = {str(p.relative_to(PACKAGE)) for p in files if reads_current_app(p)}
    assert reading - CURRENT_APP_STILL_ALLOWED == set(), \
        f"take settings as arguments (built at the route, job or CLI) instead of current_app: {sorted(reading)}"
    stale = CURRENT_APP_STILL_ALLOWED - reading
    assert not stale, f"no longer reads current_app: remove from CURRENT_APP_STILL_ALLOWED: {sorted(stale)}"


def test_the_current_app_check_sees_each_spelling(tmp_path):
    cases = {"a.py": "from flask import current_app\n", "b.py": "from flask import g, current_app as app\n",
             "c.py": "import flask\nx = flask.current_app.config\n", "d.py": "from flask import g\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    assert [n for n in sorted(cases) if reads_current_app(tmp_path / n)] == ["a.py", "b.py", "c.py"]


def test_nothing_loose_at_the_top_of_the_package():
    loose = {p.name for p in PACKAGE.glob("*.py")} - TOP_LEVEL_MODULES
    assert not loose, f"move into a capability package (or core/): {sorted(loose)}"
    assert TOP_LEVEL_MODULES <= {p.name for p in PACKAGE.glob("*.py")}
