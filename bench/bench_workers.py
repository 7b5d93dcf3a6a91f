"""Scans per second as the server gets more worker processes (issue 15): the 1 → 2 → 4
curve of `eldercare serve --workers N`, with /healthz measured the same way in the same
run, so that each ratio compares like with like on a shared machine.

Writes that wait for one another (a global lock) make the scan curve flat while /healthz
still climbs; writes that do not follow it. On a demo already loaded:
    python bench/bench_workers.py --instance FOLDER [--workers 1,2,4 --threads 8 --seconds 10]
(DATABASE_URL=postgresql+psycopg://… for PostgreSQL; the folder then only holds the logs.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from bench_homecare import prepare, scan_rates  # noqa: E402
from common import site_at  # noqa: E402
from server import Server  # noqa: E402


def curve(site, workers: list[int], threads: int, seconds: float) -> list[dict]:
    """One row per worker count: /healthz and scans per second, p50/p95, errors."""
    # other elders than an earlier run's on the same instance, and per worker count
    offset = int.from_bytes(os.urandom(2), "big")
    rows = []
    for i, n in enumerate(workers):
        per_thread = prepare(site, threads)  # new workers: a timeline of their own
        with Server(site, n) as server:
            rates = scan_rates(server, per_thread, threads, seconds, offset + 97 * i)
        h, s = rates["healthz"], rates["scans"]
        rows.append(
            {
                "workers": n,
                "healthz": h.__dict__,
                "scans": s.__dict__,
                "ratio": s.per_second / h.per_second if h.per_second else 0.0,
            }
        )
    return rows


def table(database: str, rows: list[dict]) -> str:
    first = rows[0]
    out = [
        f"| {database} | "
        + " | ".join(f"{r['workers']} worker{'s' * (r['workers'] > 1)}" for r in rows)
        + " |",
        "| --- |" + " --- |" * len(rows),
    ]

    def line(label, fmt):
        out.append(f"| {label} | " + " | ".join(fmt(r) for r in rows) + " |")

    line("GET /healthz per second", lambda r: f"{r['healthz']['per_second']:,.0f}")
    line("POST scan per second", lambda r: f"{r['scans']['per_second']:,.1f}")
    line("**scans ÷ /healthz**", lambda r: f"**{r['ratio']:.3f}**")
    line(
        "/healthz growth from 1 worker",
        lambda r: f"{r['healthz']['per_second'] / first['healthz']['per_second']:.2f}×",
    )
    line(
        "scan growth from 1 worker",
        lambda r: f"{r['scans']['per_second'] / first['scans']['per_second']:.2f}×",
    )
    line(
        "/healthz p50 / p95 ms",
        lambda r: f"{r['healthz']['p50_ms']:.1f} / {r['healthz']['p95_ms']:.1f}",
    )
    line("scan p50 / p95 ms", lambda r: f"{r['scans']['p50_ms']:.1f} / {r['scans']['p95_ms']:.1f}")
    line(
        "failed requests (healthz, scans)",
        lambda r: f"{r['healthz']['errors']}, {r['scans']['errors']}",
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, help="an instance with the demo loaded")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    site = site_at(args.instance)
    rows = curve(site, [int(w) for w in args.workers.split(",")], args.threads, args.seconds)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(table(site.database, rows))


if __name__ == "__main__":
    main()
