"""Test set-up: one migrated database per run (SQLite file, or PostgreSQL where
TEST_DATABASE_URL names one), emptied after every test; real server processes for
race tests (a rolled-back fixture transaction would hide exactly what they test)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
_TMP = tempfile.mkdtemp(prefix="eldercare-test-")
DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.db"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1 … under pytest -n


def _own_postgres_database(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own."""
    if not (_WORKER and url.startswith("postgresql")):
        return url
    base = sa.engine.make_url(url)
    name = f"{base.database}_{_WORKER}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


DATABASE_URL = _own_postgres_database(DATABASE_URL)
SECRET = "test-secret-key-not-for-production"

os.environ["ELDERCARE_INSTANCE"] = _TMP
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["ELDERCARE_SECRET_KEY"] = SECRET
os.environ.setdefault("ELDERCARE_BASE_URL", "http://127.0.0.1:5000")
# The second factor is tested on its own (tests/eldercare/test_totp.py); elsewhere logins
# are one step, as they are with ELDERCARE_TOTP=off.
os.environ["ELDERCARE_TOTP"] = "off"

from eldercare import create_app  # noqa: E402
from eldercare.extensions import db as _db  # noqa: E402

KEEP = {"regions", "alembic_version"}  # reference data loaded once by init-db

pytest_plugins = ["tests.factories"]


def _reset_schema(url: str) -> None:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


@pytest.fixture(scope="session")
def app():
    _reset_schema(DATABASE_URL)
    app = create_app({"TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        from eldercare.bootstrap import init_database

        init_database()
        _db.session.remove()
    yield app
    with app.app_context():
        _db.engine.dispose()


def _empty_tables() -> None:
    _db.session.remove()
    tables = [t for t in reversed(_db.metadata.sorted_tables) if t.name not in KEEP]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())
            # the deletes above fired the day tallies' triggers (eldercare/day_tallies.py):
            # the tally tables emptied before their rows were deleted hold what they wrote
            for t in tables:
                if t.info.get("tally"):
                    conn.execute(t.delete())
            if conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")
            ).first():
                conn.execute(sa.text("DELETE FROM sqlite_sequence"))


@pytest.fixture(autouse=True)
def _clean(request):
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    ctx = app.app_context()  # a fresh context (and session) for each test
    ctx.push()
    try:
        yield
    finally:
        _db.session.remove()
        ctx.pop()
    with app.app_context():
        _empty_tables()
        from eldercare.registry import registry

        for seed in registry().seeds:
            seed()
        _db.session.commit()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


# --- real server processes ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`eldercare serve`'s gunicorn on a free port, against the test database."""

    def __init__(self, workers: int = 3, env: dict | None = None):
        """`env`: settings of this server only, e.g. {"ELDERCARE_TOTP": "on"} for the
        second factor as production has it."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        # The server's log goes to a file: a pipe nobody reads fills up and stalls it.
        self.log_path = Path(_TMP) / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eldercare.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-scheduler",
            ],
            cwd=str(ROOT),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log()) from None
                time.sleep(0.2)
        self.stop()  # never leave a half-started server behind
        raise RuntimeError("server did not start in 60 s:\n" + self.log())

    def log(self) -> str:
        """The last of what the server wrote to its error log."""
        self._log.flush()
        return self.log_path.read_bytes().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        # SIGQUIT is gunicorn's quick shutdown: a test server has nothing to drain, and
        # SIGTERM's graceful wait cost ten seconds per server at the end of every run.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def live_servers(app):
    """Two servers of three workers each over the one test database: races between
    processes, as several gunicorn hosts over one PostgreSQL would have them."""
    servers = [LiveServer(), LiveServer()]
    yield servers
    for s in servers:
        s.stop()


# --- the browser ----------------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (which downloads no browser of its own)."""
    if not Path(CHROMIUM).exists():
        msg = (
            f"browser tests need Debian's chromium at {CHROMIUM}: "
            "`apt-get install chromium` (CI does this; REQUIRE_BROWSER=1 makes it mandatory)"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser, request):
    """page_for(width, height) → a fresh page; a screenshot is saved when the test ends.
    Other keywords go to the browser context (service_workers="block", …)."""
    pages = []

    def make(width: int = 1280, height: int = 900, **options):
        ctx = browser.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN", **options
        )
        page = ctx.new_page()
        page.set_default_timeout(15000)
        pages.append((ctx, page))
        return page

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    for i, (ctx, page) in enumerate(pages):
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True)
        finally:
            ctx.close()
