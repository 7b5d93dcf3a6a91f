"""The database briefly out of reach: clear 503s, then recovery without a restart.

A small TCP proxy stands between the app and PostgreSQL; closing it is the outage.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URL

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith("postgresql"),
    reason="needs PostgreSQL (SQLite is a file, never out of reach)",
)


class Proxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.up = False

    def start(self):
        if not self.up:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", self.port))
            self.sock.listen(16)
            self.up = True
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.up:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def stop(self):
        self.up = False
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        self.conns.clear()


def test_an_outage_answers_503_and_the_app_recovers_by_itself(app, admin):
    from eldercare import create_app
    from eldercare.auth.services import issue_token

    url = sa.engine.make_url(DATABASE_URL)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    old = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = proxied
    try:
        other = create_app({"TESTING": False})
    finally:
        os.environ["DATABASE_URL"] = old
    client = other.test_client()
    headers = {"Authorization": f"Bearer {issue_token(admin).token}"}
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    proxy.stop()
    down = client.get("/api/v1/people", headers=headers)
    assert down.status_code == 503
    assert down.json["error"]["code"] == "unavailable"
    assert client.get("/healthz").status_code == 503
    proxy.start()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/people", headers=headers).status_code == 200
    proxy.stop()
    with other.app_context():
        from eldercare.extensions import db

        db.engine.dispose()
