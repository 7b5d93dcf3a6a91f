"""The demo's applications as drafts (demo.py builds and writes them): an application's
values and steps kept in memory, each step dated by its deadline (most on time, about one
in seven a few days late), walked along a path, withdrawn, and the new people some of
them bring. Seeded like the rest of the demo."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from eldercare.selfcare import ITEMS

from .deadlines import add_working_days, due_after
from .deadlines import notice_until as until_of
from .models import Kind, Status, Step

WITHDRAWALS = ("申请人自愿放弃", "由子女接往外地照料", "入住民办养老机构")


@dataclass
class Draft:
    """An application being made up: its steps (step, on, due, late), its columns."""

    kind: Kind
    person_id: int
    received: date
    year: int
    steps: list[tuple[Step, date, date | None, bool]] = field(default_factory=list)
    values: dict = field(default_factory=dict)
    status: Status = Status.RECEIVED
    due: date | None = None
    wanted: str | None = None

    def last(self) -> date:
        return self.steps[-1][1] if self.steps else self.received

    def did(self, step: Step, on: date, due: date | None) -> None:
        self.steps.append((step, on, due, due is not None and on > due))


def assess(rng, frail: float) -> dict[str, bool]:
    failed = min(6, int(rng.random() * frail * 7))
    order = list(ITEMS)
    rng.shuffle(order)
    return {k: k not in order[:failed] for k in ITEMS}


def when(ctx, kind: Kind, step: Step, since: date) -> tuple[date, date]:
    """(done on, due): most within the deadline, about one in seven a few days late."""
    found = due_after(kind, step, since)
    if found is None:
        raise ValueError(f"{kind}/{step} has no deadline")
    due = found
    n = max(1, ((due - since).days * 5) // 7)
    if ctx.rng.random() < 0.15:
        return add_working_days(due, ctx.rng.randrange(1, 6)), due
    return add_working_days(since, ctx.rng.randrange(1, n + 1)), due


def walk(ctx, d: Draft, path: tuple[Step, ...], stall: bool) -> None:
    """Do the path's steps until today (or a stall: an application left lying, past its
    deadline), each from the day of the one before (a notice's decision from its end)."""
    for step in path:
        since = (
            d.values["notice_until"]
            if step == Step.DECIDE and "notice_until" in d.values
            else d.last()
        )
        on, due = when(ctx, d.kind, step, since)
        d.due = due
        if on > ctx.today or (stall and ctx.rng.random() < 0.5):
            return
        d.did(step, on, due)
        d.status = {Step.CHECK: Status.CHECKED, Step.NOTICE: Status.NOTICED}.get(step, d.status)
        if step == Step.NOTICE:
            d.values |= {"notice_from": on, "notice_until": until_of(on)}
        if step == Step.DECIDE:
            d.values["decided_on"], d.due = on, None


def withdraw(ctx, d: Draft, undecide: bool = True) -> None:
    """Withdrawn after the last step (before a decision, unless `undecide` is False: from
    the waiting list)."""
    if undecide and d.steps and d.steps[-1][0] == Step.DECIDE:
        d.steps.pop()
        d.values.pop("decided_on", None)
    on = min(ctx.today, d.last() + timedelta(days=ctx.rng.randrange(1, 10)))
    d.steps.append((Step.WITHDRAW, on, None, False))
    d.status, d.due = Status.WITHDRAWN, None
    d.values["withdraw_reason"] = ctx.rng.choice(WITHDRAWALS)


def new_people(ctx, n: int, lo: int, hi: int, towns: list[str]) -> list[int]:
    rows = []
    for i in range(n):
        sex = "M" if ctx.rng.random() < 0.55 else "F"
        code = towns[i % len(towns)]
        rows.append(
            {
                "name": ctx.name(sex),
                "birth_date": ctx.birth(lo, hi),
                "sex": sex,
                "township_code": code,
                "village_code": ctx.rng.choice(ctx.villages[code]),
                "address": f"{ctx.rng.randrange(1, 12)}组{ctx.rng.randrange(1, 80)}号",
            }
        )
    return ctx.add_people(rows)


# --- 特困 ------------------------------------------------------------------------------
