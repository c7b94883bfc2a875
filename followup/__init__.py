"""followup: discharge-patient follow-up (出院病人随访) for hospitals and health commissions."""
import os

from flask import Flask, current_app, request, session


def create_app(test_config: dict | None = None) -> Flask:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(__name__, instance_path=os.path.join(root, "instance"),
                template_folder=os.path.join(root, "templates"),
                static_folder=os.path.join(root, "static"))
    from .config import Config
    app.config.from_object(Config)
    if test_config:
        app.config.update(test_config)
    _embedded_defaults(app)

    from .core import crypto
    from .extensions import babel, csrf, db, login_manager, migrate
    db.init_app(app)
    _sqlite_pragmas(app, db)
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=os.path.join(root, "followup", "translations"))
    crypto.init_keys(app)
    crypto.use_key_source(lambda: crypto.keys_of(current_app))
    from .core import logs
    logs.init_app(app)
    from .security import auth  # registers the user loader
    auth.init_app(app)
    from .security import http as security_http
    security_http.init_app(app)
    from .ops import outage
    outage.init_app(app)

    from .routes import register_blueprints
    register_blueprints(app)
    from .cli import followup_cli
    app.cli.add_command(followup_cli)
    from .core.templating import init_templating
    init_templating(app)
    return app


def _embedded_defaults(app: Flask) -> None:
    """With no DATABASE_URL: a SQLite file under instance/, generated secrets, no Redis."""
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["EMBEDDED"] = not app.config.get("SQLALCHEMY_DATABASE_URI")
    if app.config["EMBEDDED"]:
        path = os.path.join(app.instance_path, "followup.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):  # accept the common form, use psycopg 3
        app.config["SQLALCHEMY_DATABASE_URI"] = uri = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    if uri.startswith("postgresql"):
        # A database host that is down or frozen fails a connect in seconds, not minutes.
        opts = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        opts["connect_args"] = {"connect_timeout": 5, **opts.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    if uri.startswith("sqlite"):
        opts = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        opts["connect_args"] = {"timeout": 30, "check_same_thread": False}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
    if not app.config.get("SECRET_KEY"):
        if not app.config["EMBEDDED"]:
            raise RuntimeError("FOLLOWUP_SECRET_KEY must be set when DATABASE_URL is")
        key_path = os.path.join(app.instance_path, "secret-key")
        if not os.path.exists(key_path):
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(os.urandom(32).hex())
        with open(key_path) as fh:
            app.config["SECRET_KEY"] = fh.read().strip()


def _sqlite_pragmas(app, db):
    """WAL and a busy timeout let the embedded mode's job thread write beside web requests."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event
    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()


def _select_locale():
    """A user's explicit choice wins; otherwise Chinese unless the browser prefers English."""
    from flask import current_app, has_request_context
    if not has_request_context():  # CLI and jobs: the default (Chinese)
        return None
    choice = session.get("lang")
    if choice in current_app.config["LANGUAGES"]:
        return choice
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "zh_CN"
