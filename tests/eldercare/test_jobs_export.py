"""/jobs exports every run and failure (issue 17.10); only the bureau's admin may."""

from __future__ import annotations

import csv
import io

from eldercare.jobs import run_job
from tests import factories as f


def test_the_jobs_page_exports_its_runs(client, admin):
    run_job("alerts", "2026-11-29")
    f.login(client, admin)
    assert "format=csv" in client.get("/jobs").text
    r = client.get("/jobs?format=csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["任务", "周期", "结果"]
    assert any(row[:3] == ["alerts", "2026-11-29", "完成"] for row in rows[1:])
    assert client.get("/jobs?format=xlsx").data[:2] == b"PK"


def test_an_auditor_gets_no_jobs_export(client):
    f.login(client, f.user("auditor"))
    assert client.get("/jobs?format=csv").status_code == 403
