"""`make bench`: the demo district at scale 1 and 10, measured in one run.

For each scale: the demo load time; p50/p95 server time and SQL statements of the main
pages and API calls (in-process, through the WSGI stack, so the network does not blur
them) as multiples of the cheapest request (/healthz); the peak Python memory of a large
export. Writes bench/README.md (the latest table, with the machine and date).

Usage: python bench/run.py [--scales 1,10] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (label, path, role) — the pages people open every day, and the overview.
REQUESTS = [
    ("healthz (cheapest)", "/healthz", None),
    ("dashboard /", "/", "admin"),
    ("people list", "/people", "admin"),
    ("people search", "/people?q=王", "admin"),
    ("API overview", "/api/v1/stats/overview", "admin"),
    ("API people page", "/api/v1/people?per_page=50", "admin"),
    ("facilities list", "/facilities", "admin"),
    ("bed board", "/facilities/1", "admin"),
    ("placements", "/placements", "admin"),
    ("home-care enrolments", "/homecare/enrolments", "admin"),
    ("home-care visits", "/homecare/visits", "admin"),
    ("claims", "/homecare/claims", "admin"),
    ("public figures", "/public", None),
]


def build(scale: int, folder: Path) -> float:
    env = dict(
        os.environ, ELDERCARE_INSTANCE=str(folder), DATABASE_URL=f"sqlite:///{folder / 'bench.db'}"
    )
    eldercare = [sys.executable, "-m", "eldercare.cli"]
    subprocess.run([*eldercare, "init-db"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run(
        [*eldercare, "demo", "--scale", str(scale)], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - t0


def measure(folder: Path, repeat: int) -> tuple[list[tuple], float]:
    os.environ["ELDERCARE_INSTANCE"] = str(folder)
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    from sqlalchemy import event

    from eldercare import create_app
    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User

    app = create_app()
    statements = {"n": 0}
    rows = []
    with app.app_context():
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *a, **k: statements.__setitem__("n", statements["n"] + 1),
        )
        admin = db.session.scalar(db.select(User).where(User.username == "admin"))
        token = issue_token(admin).token
    client = app.test_client()
    for label, path, role in REQUESTS:
        headers = {"Authorization": f"Bearer {token}"} if role else {}
        if role and not path.startswith("/api/"):
            with client.session_transaction() as s:
                s["_user_id"] = f"{admin.id}:{admin.session_version}"
                s["_fresh"] = True
                s["seen"] = s["started"] = int(time.time())
        first = client.get(path, headers=headers)
        if first.status_code != 200:
            rows.append((label, path, None, None, None, first.status_code))
            continue
        times = []
        statements["n"] = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(path, headers=headers).close()
            times.append((time.perf_counter() - t0) * 1000)
        sql = statements["n"] / repeat
        times.sort()
        p50 = statistics.median(times)
        p95 = times[int(len(times) * 0.95) - 1]
        rows.append((label, path, p50, p95, sql, 200))
    # memory of a large streamed export
    with client.session_transaction() as s:
        s["_user_id"] = f"{admin.id}:{admin.session_version}"
        s["seen"] = s["started"] = int(time.time())
    tracemalloc.start()
    resp = client.get("/people?format=xlsx")
    size = len(resp.data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del size
    return rows, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    results = {}
    for scale in scales:
        folder = Path(tempfile.mkdtemp(prefix=f"eldercare-bench-{scale}-"))
        print(f"scale {scale}: building the demo district …", flush=True)
        load = build(scale, folder)
        print(f"scale {scale}: demo loaded in {load:.1f} s; measuring …", flush=True)
        # each scale measured in its own process: a fresh app and engine
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(folder), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[scale] = (load, eval(out))  # noqa: S307 — our own child's repr
    write(results)


def write(results: dict) -> None:
    scales = sorted(results)
    lines = [
        "# Benchmarks",
        "",
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"(`make bench`; server time in-process through the WSGI stack).",
        "",
        "| figure | " + " | ".join(f"scale {s}" for s in scales) + " |",
        "| --- | " + " | ".join("---" for _ in scales) + " |",
        "| demo load (s) | " + " | ".join(f"{results[s][0]:.1f}" for s in scales) + " |",
        "| peak Python memory of /people?format=xlsx (MiB) | "
        + " | ".join(f"{results[s][1][1]:.1f}" for s in scales)
        + " |",
        "",
    ]
    lines += [
        "| request | "
        + " | ".join(f"scale {s}: p50 ms / p95 ms / × healthz / SQL" for s in scales)
        + " |",
        "| --- | " + " | ".join("---" for _ in scales) + " |",
    ]
    by_label = {}
    for s in scales:
        rows = results[s][1][0]
        base = next((r[2] for r in rows if r[1] == "/healthz"), None) or 1
        for label, _path, p50, p95, sql, status in rows:
            cell = (
                f"{p50:.1f} / {p95:.1f} / {p50 / base:.0f}× / {sql:.0f}"
                if p50 is not None
                else f"HTTP {status}"
            )
            by_label.setdefault(label, {})[s] = cell
    for label, cells in by_label.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(s, "—") for s in scales) + " |")
    extra = ROOT / "bench" / "NOTES.md"
    if extra.exists():
        lines += ["", extra.read_text()]
    (ROOT / "bench" / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 30
        rows, peak = measure(Path(sys.argv[2]), repeat)
        print(repr((rows, peak)))
    else:
        main()
