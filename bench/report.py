"""bench/README.md from the results of bench/run.py: the tables and what they say."""

from __future__ import annotations


def _f(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "—"


def render(results: dict, before: dict, after: dict, seconds: float, args, exports) -> str:
    """The README's tables: results[(database, scale)] as bench/run.py measured them."""
    keys = sorted(results, key=lambda k: (k[0] != "SQLite", k[1]))
    dbs = sorted({k[0] for k in keys}, key=lambda d: d != "SQLite")
    head = [f"{d} ×{s}" for d, s in keys]
    out = [
        "# Benchmarks",
        "",
        f"Latest `make bench`: {before['date']}, commit {before['commit']}, took "
        f"**{seconds / 60:.1f} min**. {before['cpu']}, {before['cores']} cores, "
        f"{before['memory']} RAM; Python {before['python']}; SQLite {before['sqlite']}"
        + (", PostgreSQL (BENCH_DATABASE_URL)" if "PostgreSQL" in dbs else "")
        + f". Load average (1, 5, 15 min) {before['load']} at the start, {after['load']} at "
        "the end: other work shares this machine, so read milliseconds as upper bounds and "
        "compare the ratios.",
        "",
        f"Pages: server time in process through the whole WSGI stack, {args.repeat} requests "
        "each after one warm-up (fewer, at least 5, when they take over 8 s together). "
        f"Throughput: `eldercare serve --workers {args.workers}` (gunicorn), {args.threads} "
        f"client threads over keep-alive HTTP for {args.seconds:.0f} s per figure.",
        "",
    ]

    def table(title: str, rows: list[tuple[str, list[str]]], extra: list[str] | None = None):
        cols = head + (extra or [])
        out.extend(
            [f"## {title}", "", "| | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
        )
        out.extend(f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows)
        out.append("")

    def growth(d: str, fn) -> list[str]:
        """scale 10 ÷ scale 1 for database d (when both ran)."""
        ss = sorted(s for dd, s in keys if dd == d)
        if len(ss) < 2:
            return []
        lo, hi = fn(results[(d, ss[0])]), fn(results[(d, ss[-1])])
        return [_ratio(hi, lo)]

    extra = [
        f"{d} ×{max(s for dd, s in keys if dd == d)} ÷ ×{min(s for dd, s in keys if dd == d)}"
        for d in dbs
        if len([k for k in keys if k[0] == d]) > 1
    ]

    def grow(fn) -> list[str]:
        return [c for d in dbs for c in growth(d, fn)]

    # the district
    names = list(dict.fromkeys(n for k in keys for n in results[k]["sizes"]))
    rows = [(name, [f"{results[k]['sizes'].get(name, 0):,}" for k in keys]) for name in names]
    table("The demo district measured", rows)

    # demo
    steps = list(dict.fromkeys(s for k in keys for s in results[k]["demo"].steps))
    rows = [
        (
            "whole demo load (s)",
            [_f(results[k]["demo"].seconds) for k in keys] + grow(lambda r: r["demo"].seconds),
        )
    ]
    rows += [
        (
            f"step: {s} (s)",
            [_f(results[k]["demo"].steps.get(s, 0), 2) for k in keys]
            + grow(lambda r, s=s: r["demo"].steps.get(s, 0)),
        )
        for s in steps
    ]
    table("Demo load", rows, extra)
    first = results[keys[0]]["demo"].summary
    if first:
        out += [
            f"What the demo printed at scale {keys[0][1]} ({keys[0][0]}):",
            "",
            "```",
            *first,
            "```",
            "",
        ]

    # throughput
    def rate(k, name):
        return results[k]["rates"][name]

    rows = [
        ("GET /healthz per second", [_f(rate(k, "healthz")["per_second"], 0) for k in keys]),
        ("POST scan per second", [_f(rate(k, "scans")["per_second"], 0) for k in keys]),
        (
            "**scans ÷ /healthz**",
            [
                f"**{rate(k, 'scans')['per_second'] / rate(k, 'healthz')['per_second']:.3f}**"
                for k in keys
            ],
        ),
        (
            "/healthz p50 / p95 ms",
            [
                f"{_f(rate(k, 'healthz')['p50_ms'])} / {_f(rate(k, 'healthz')['p95_ms'])}"
                for k in keys
            ],
        ),
        (
            "scan p50 / p95 ms",
            [f"{_f(rate(k, 'scans')['p50_ms'])} / {_f(rate(k, 'scans')['p95_ms'])}" for k in keys],
        ),
        (
            "failed requests (healthz, scans)",
            [f"{rate(k, 'healthz')['errors']}, {rate(k, 'scans')['errors']}" for k in keys],
        ),
    ]
    table("Scans per second through the server, beside /healthz", rows)

    # reconciliation
    def rec(k):
        return results[k]["reconcile"]

    rows = [
        ("month reconciled", [rec(k)["month"] for k in keys]),
        (
            "claim lines in the district month",
            [f"{rec(k)['lines']:,}" for k in keys] + grow(lambda r: r["reconcile"]["lines"]),
        ),
        ("largest claim (lines)", [f"{rec(k)['largest']['lines']:,}" for k in keys]),
        ("first reconciliation of the month, API (ms)", [_f(rec(k)["first_ms"], 0) for k in keys]),
        (
            "every line decided and written, the month (ms)",
            [_f(rec(k)["full_ms"], 0) for k in keys] + grow(lambda r: r["reconcile"]["full_ms"]),
        ),
        (
            "cost per line (µs)",
            [_f(rec(k)["per_line_us"]) for k in keys]
            + grow(lambda r: r["reconcile"]["per_line_us"]),
        ),
        ("cost per line, CPU time (µs)", [_f(rec(k)["per_line_cpu_us"]) for k in keys]),
        (
            "re-run (nothing changes) per line, API (µs)",
            [_f(rec(k)["rerun_per_line_us"]) for k in keys],
        ),
        ("/healthz in process, p50 (ms)", [f"{results[k]['healthz_ms']:.2f}" for k in keys]),
        (
            "**a line costs this share of one /healthz**",
            [f"**{rec(k)['per_line_us'] / 1000 / results[k]['healthz_ms']:.3f}**" for k in keys]
            + grow(lambda r: r["reconcile"]["per_line_us"] / r["healthz_ms"]),
        ),
        (
            "SQL statements per reconciliation (first / re-run)",
            [
                f"{rec(k)['largest']['sql_first']:.0f} / {rec(k)['largest']['sql']:.0f}"
                for k in keys
            ],
        ),
    ]
    table("Reconciliation", rows, extra)
    _patterns(results, keys, table, grow, extra)

    # pages
    labels = list(dict.fromkeys(p["label"] for k in keys for p in results[k]["pages"]))

    def page(k, label):
        return next((p for p in results[k]["pages"] if p["label"] == label), None)

    def cell(k, label):
        p = page(k, label)
        if p is None:
            return "—"
        if p["status"] != 200:
            return f"**HTTP {p['status']}**"
        unit = page(k, labels[0])["p50"] or 1
        return f"{_f(p['p50'])} / {_f(p['p95'])} / {p['p50'] / unit:,.0f}× / {p['sql']:.0f}"

    def page_growth(label):
        cells = []
        for d in dbs:
            ss = sorted(s for dd, s in keys if dd == d)
            if len(ss) < 2:
                continue
            lo, hi = page((d, ss[0]), label), page((d, ss[-1]), label)
            if not (lo and hi and lo["status"] == hi["status"] == 200):
                cells.append("—")
                continue
            flat = (
                "flat"
                if round(lo["sql"]) == round(hi["sql"])
                else (f"**{lo['sql']:.0f} → {hi['sql']:.0f}**")
            )
            cells.append(f"{hi['p50'] / lo['p50']:.1f}× / SQL {flat}")
        return cells

    rows = [(label, [cell(k, label) for k in keys] + page_growth(label)) for label in labels]
    out += ["## Pages and API: p50 ms / p95 ms / × /healthz / SQL statements", ""]
    out += [
        "| request | " + " | ".join(head + [e.replace("÷", "p50 ÷") for e in extra]) + " |",
        "| --- |" + " --- |" * (len(head) + len(extra)),
    ]
    out += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    out.append("")

    # exports
    rows = []
    for label, path in exports:

        def ex(k, path=path):
            return next(e for e in results[k]["exports"] if e["path"] == path)

        rows.append(
            (
                f"{label}: size (MB), time (s)",
                [
                    f"{ex(k)['bytes'] / 1e6:.1f}, {ex(k)['seconds']:.1f}"
                    if ex(k)["status"] == 200
                    else f"**HTTP {ex(k)['status']}**"
                    for k in keys
                ]
                + grow(
                    lambda r, path=path: next(e for e in r["exports"] if e["path"] == path)["bytes"]
                ),
            )
        )
        rows.append(
            (
                f"{label}: worker RSS before → peak (MiB)",
                [f"{ex(k)['rss_before_mib']:.0f} → {ex(k)['rss_peak_mib']:.0f}" for k in keys]
                + grow(
                    lambda r, path=path: next(e for e in r["exports"] if e["path"] == path)[
                        "rss_peak_mib"
                    ]
                ),
            )
        )
        rows.append(
            (
                f"{label}: **worker RSS growth (MiB)**",
                [f"**{ex(k)['growth_mib']:.1f}**" for k in keys],
            )
        )
    table("Memory of the server worker during a large export (downloaded over HTTP)", rows, extra)
    source = {e["peak_source"] for k in keys for e in results[k]["exports"]}
    out += [
        f"Peak = the worker's {' / '.join(sorted(source))} (VmHWM reset through "
        "/proc/PID/clear_refs just before the request, and VmRSS sampled every 10 ms), "
        "before = its VmRSS just before; the worker is the one of "
        f"{args.workers} whose memory rose.",
        "",
    ]
    out += summary(results, keys, labels, page)
    return "\n".join(out)


def summary(results: dict, keys, labels, page) -> list[str]:
    """What the numbers say, from this run's numbers (the first database's: SQLite's
    unless only PostgreSQL ran)."""
    out = ["## What the numbers say (this run)", ""]
    first = keys[0][0]
    sq = sorted(s for d, s in keys if d == first)
    lo, hi = (first, sq[0]), (first, sq[-1])
    if lo == hi:
        return [*out, "Only one scale ran: run both (`--scales 1,10`) to see what grows.", ""]
    r = results
    said = []
    d_lo, d_hi = r[lo]["demo"].seconds, r[hi]["demo"].seconds
    slow = max(r[hi]["demo"].steps, key=r[hi]["demo"].steps.get)
    said.append(
        f"The demo loads in {d_lo:.0f} s at scale {lo[1]} and {d_hi:.0f} s at "
        f"scale {hi[1]} ({d_hi / d_lo:.1f}× for {hi[1] // lo[1]}× the data); "
        f"its slowest step at scale {hi[1]} is {slow} "
        f"({r[hi]['demo'].steps[slow]:.0f} s)."
    )
    share = [
        r[k]["rates"]["scans"]["per_second"] / r[k]["rates"]["healthz"]["per_second"]
        for k in (lo, hi)
    ]
    said.append(
        f"Scans run at {share[0]:.1%} of /healthz's rate at scale {lo[1]} and "
        f"{share[1]:.1%} at scale {hi[1]} "
        f"({r[lo]['rates']['scans']['per_second']:.0f} and "
        f"{r[hi]['rates']['scans']['per_second']:.0f} a second): "
        + (
            "within this machine's noise of each other, so the data's size does not slow them down."
            if share[1] > share[0] / 2
            else "they slow down with the data: look at the scan's queries."
        )
    )
    per = [r[k]["reconcile"]["per_line_us"] / 1000 / r[k]["healthz_ms"] for k in (lo, hi)]
    said.append(
        f"A reconciled claim line costs {per[0]:.3f} of one /healthz at scale {lo[1]} "
        f"and {per[1]:.3f} at scale {hi[1]} "
        f"({r[lo]['reconcile']['lines']:,} and {r[hi]['reconcile']['lines']:,} lines in "
        "the month): "
        + (
            "reconciliation is linear in the lines."
            if per[1] < per[0] * 1.5
            else "the cost per line grows with the data."
        )
    )
    moved = [
        lab
        for lab in labels
        if (a := page(lo, lab))
        and (b := page(hi, lab))
        and a["status"] == b["status"] == 200
        and round(a["sql"]) != round(b["sql"])
    ]
    grew = sorted(
        (
            (b["p50"] / a["p50"], lab)
            for lab in labels
            if (a := page(lo, lab))
            and (b := page(hi, lab))
            and a["status"] == b["status"] == 200
            and b["p50"] > 3 * a["p50"]
        ),
        reverse=True,
    )
    bad = [lab for k in keys for lab in labels if (p := page(k, lab)) and p["status"] != 200]
    said.append(
        "Every page answered 200."
        if not bad
        else f"Pages that did not answer 200: {', '.join(sorted(set(bad)))}."
    )
    said.append(
        "Statements per page are the same at both scales."
        if not moved
        else "Statements per page differ between the scales for: " + ", ".join(moved) + "."
    )
    said.append(
        "No page's p50 grew more than 3× from scale 1 to 10."
        if not grew
        else "Pages whose p50 grew more than 3× from scale 1 to 10: "
        + ", ".join(f"{lab} ({g:.1f}×)" for g, lab in grew)
        + "."
    )
    ex = [(e1, e10) for e1, e10 in zip(r[lo]["exports"], r[hi]["exports"], strict=True)]
    said.append(
        "Exports: the worker's peak RSS is "
        + "; ".join(
            f"{e10['rss_peak_mib']:.0f} MiB at scale {hi[1]} against "
            f"{e1['rss_peak_mib']:.0f} MiB at scale {lo[1]} for {e1['path']} "
            f"({e10['bytes'] / max(e1['bytes'], 1):.1f}× the bytes)"
            for e1, e10 in ex
        )
        + "."
    )
    return [*out, " ".join(said), ""]


def _patterns(results: dict, keys: list, table, grow, extra) -> None:
    """Patterns across visits (bench_patterns.py): time and statements of finding,
    marking and counting a district month's patterns; the statements must not grow."""
    if not all("patterns" in results[k] for k in keys):
        return  # results of a run from before the part existed

    def pat(k):
        return results[k]["patterns"]

    rows = [
        ("month", [pat(k)["month"] for k in keys]),
        (
            "visits in the month",
            [f"{pat(k)['visits']:,}" for k in keys] + grow(lambda r: r["patterns"]["visits"]),
        ),
        ("workers", [f"{pat(k)['workers']:,}" for k in keys]),
        (
            "found (impossible trips, at one spot)",
            [
                f"{pat(k)['found']['impossible_travel']}, {pat(k)['found']['same_place']}"
                for k in keys
            ],
        ),
    ]
    for label, key in (
        ("find", "find"),
        ("mark (re-run)", "flag"),
        ("figures", "figures"),
        ("GET /api/v1/homecare/patterns", "api"),
    ):
        rows.append(
            (
                f"{label} (ms)",
                [_f(pat(k)[f"{key}_ms"], 0) for k in keys]
                + grow(lambda r, key=key: r["patterns"][f"{key}_ms"]),
            )
        )
        rows.append((f"{label}: SQL statements", [str(pat(k)[f"{key}_sql"]) for k in keys]))
    table("Patterns across visits", rows, extra)
