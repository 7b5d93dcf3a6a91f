"""Home care's year: its places and its eligibility rules (configurable per year, each
rule that matched shown), the assessed need that ranks the waiting list.

The default rules and the need points are placeholders of the kind comparable
programmes use (60+ 特困 and 低保 elders, 80+, disabled, living alone, the full-care);
the bureau sets its own for each year on /homecare/eligibility or through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare import selfcare
from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.models import CareLevel, Category, Person
from eldercare.timeutil import local_today

from . import settings, words
from .models import Application, EligibilityRule, HomecareYear, Kind, Status, Step
from .words import N_

DEFAULT_PLACES = 11000
DEFAULT_RULES: tuple[dict, ...] = (
    {"code": "tekun60", "label": N_("60周岁以上特困人员"), "min_age": 60, "categories": ["tekun"]},
    {"code": "dibao60", "label": N_("60周岁以上低保对象"), "min_age": 60, "categories": ["dibao"]},
    {"code": "age80", "label": N_("80周岁以上高龄老人"), "min_age": 80},
    {
        "code": "disabled60",
        "label": N_("60周岁以上残疾老人"),
        "min_age": 60,
        "categories": ["disabled"],
    },
    {"code": "alone70", "label": N_("70周岁以上独居老人"), "min_age": 70, "categories": ["alone"]},
    {
        "code": "fullcare60",
        "label": N_("60周岁以上失能（全护理）老人"),
        "min_age": 60,
        "care_levels": ["full"],
    },
)
CATEGORIES = {c.value for c in Category}
CARE_LEVELS = {c.value for c in CareLevel}


# --- places -----------------------------------------------------------------------------


def places_row(year: int) -> HomecareYear:
    """The year's row, made with last year's places (or 11,000) where missing."""
    row = db.session.get(HomecareYear, year)
    if row is None:
        before = db.session.scalar(
            sa.select(HomecareYear.places)
            .where(HomecareYear.year < year)
            .order_by(HomecareYear.year.desc())
            .limit(1)
        )
        row = HomecareYear(
            year=year, places=before if before is not None else DEFAULT_PLACES, version=1
        )
        db.session.add(row)
        db.session.flush()
    return row


def lock_year(year: int) -> HomecareYear:
    """Take the year's row for this transaction (a relative UPDATE: on PostgreSQL the
    row lock holds until commit, on SQLite the write lock is held already), so that
    counting the places taken and taking one cannot interleave with another decision."""
    row = places_row(year)
    db.session.execute(
        sa.update(HomecareYear)
        .where(HomecareYear.year == year)
        .values(version=HomecareYear.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    return row


def places_taken(year: int) -> int:
    """Active enrolments of the year, and approved applications not enrolled yet."""
    from homecare.models import Enrolment

    enrolled = (
        db.session.scalar(
            sa.select(sa.func.count(Enrolment.id)).where(
                Enrolment.year == year, Enrolment.status == "active"
            )
        )
        or 0
    )
    promised = (
        db.session.scalar(
            sa.select(sa.func.count(Application.id)).where(
                Application.kind == Kind.HOMECARE,
                Application.year == year,
                Application.status == Status.APPROVED,
                Application.enrolment_id.is_(None),
            )
        )
        or 0
    )
    return enrolled + promised


def seed(year: int | None = None) -> None:
    """init-db's seed: the current year's places and default rules where missing."""
    year = year or local_today().year
    places_row(year)
    if not db.session.scalar(sa.select(EligibilityRule.id).where(EligibilityRule.year == year)):
        for r in DEFAULT_RULES:
            db.session.add(
                EligibilityRule(
                    year=year,
                    code=r["code"],
                    label=r["label"],
                    min_age=r.get("min_age"),
                    categories=list(r.get("categories", [])),
                    care_levels=list(r.get("care_levels", [])),
                )
            )
    db.session.flush()


# --- rules ------------------------------------------------------------------------------


def rules_for(year: int) -> tuple[list[EligibilityRule], int | None]:
    """The year's rules, or, where the year has none yet, the latest earlier year's
    (with that year, to say so)."""
    rows = list(
        db.session.scalars(
            sa.select(EligibilityRule)
            .where(EligibilityRule.year == year)
            .order_by(EligibilityRule.id)
        )
    )
    if rows:
        return rows, None
    before = db.session.scalar(
        sa.select(sa.func.max(EligibilityRule.year)).where(EligibilityRule.year < year)
    )
    if before is None:
        return [], None
    return list(
        db.session.scalars(
            sa.select(EligibilityRule)
            .where(EligibilityRule.year == before)
            .order_by(EligibilityRule.id)
        )
    ), before


def set_rules(year: int, rules: list[dict], places: int | None = None) -> list[EligibilityRule]:
    """Replace the year's rules (and places). Raises Invalid naming the rule and field.
    Each row is audited (ORM)."""
    problems: dict[str, str] = {}
    codes: set[str] = set()
    for i, r in enumerate(rules):
        code = (r.get("code") or "").strip()
        if not code or len(code) > 20 or code in codes:
            problems[f"rules.{i}.code"] = _l("须填写，20 字以内，不能重复")
        codes.add(code)
        if not (r.get("label") or "").strip():
            problems[f"rules.{i}.label"] = _l("须填写")
        age = r.get("min_age")
        if age is not None and not (isinstance(age, int) and 0 <= age <= 120):
            problems[f"rules.{i}.min_age"] = _l("0 到 120")
        bad = [c for c in r.get("categories") or [] if c not in CATEGORIES]
        if bad:
            problems[f"rules.{i}.categories"] = _l("未知类别：%(codes)s", codes=",".join(bad))
        bad = [c for c in r.get("care_levels") or [] if c not in CARE_LEVELS]
        if bad:
            problems[f"rules.{i}.care_levels"] = _l("未知自理能力：%(codes)s", codes=",".join(bad))
    if places is not None and not 0 <= places <= 1_000_000:
        problems["places"] = _l("0 到 1000000")
    if problems:
        raise Invalid(_l("资格条件有误：%(problems)s", problems=_Joined(problems)), fields=problems)
    for old in db.session.scalars(sa.select(EligibilityRule).where(EligibilityRule.year == year)):
        db.session.delete(old)
    db.session.flush()
    made = [
        EligibilityRule(
            year=year,
            code=r["code"].strip(),
            label=r["label"].strip()[:64],
            min_age=r.get("min_age"),
            categories=list(r.get("categories") or []),
            care_levels=list(r.get("care_levels") or []),
        )
        for r in rules
    ]
    db.session.add_all(made)
    if places is not None:
        places_row(year).places = places
    db.session.flush()
    return made


class _Joined:
    """The problems of a rules form in one sentence, in the reader's language."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{k} {v}" for k, v in self.problems.items())


@dataclass
class Match:
    code: str
    label: str

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label}


def matches(
    person: Person,
    year: int,
    on: date,
    care_level: str | None = None,
    lives_alone: bool | None = None,
) -> list[Match]:
    """The rules of the year that the person meets on `on`: all of a rule's conditions
    (age, any of its categories, any of its care levels) must hold."""
    cats = {c.value for c in person.category_set}
    if lives_alone:
        cats.add("alone")
    level = care_level or (person.care_level.value if person.care_level else None)
    age = person.age_on(on)
    out = []
    for r in rules_for(year)[0]:
        if r.min_age is not None and age < r.min_age:
            continue
        if r.categories and not cats & set(r.categories):
            continue
        if r.care_levels and level not in r.care_levels:
            continue
        out.append(Match(r.code, r.label))
    return out


# --- need -------------------------------------------------------------------------------


def need(
    person: Person,
    on: date,
    assessment: Mapping[str, bool | None],
    lives_alone: bool | None,
    year: int | None = None,
) -> tuple[int, list[str]]:
    """Assessed need, the waiting list's rank, with the points of `year` (intake/settings.py;
    the year of `on` unless given): points for each of the six items that needs help, for
    90 and over (or 80), for 特困, 低保, disability and living alone. Each part is a
    reason in words."""
    points = settings.values_for(year or on.year)
    score, reasons = 0, []
    failed = selfcare.needing_help(assessment)
    if failed:
        full = selfcare.level_of_failed(failed) == CareLevel.FULL
        level = words.NEED_FULL if full else words.NEED_PARTIAL
        got = points["points.item"] * failed
        score += got
        reasons.append(words.NEED_ITEMS % {"n": failed, "level": level, "points": got})
    age = person.age_on(on)
    for past, code, reason in (
        (90, "points.age90", words.NEED_AGE90),
        (80, "points.age80", words.NEED_AGE80),
    ):
        if age >= past:
            score += points[code]
            reasons.append(reason % {"points": points[code]})
            break
    cats = person.category_set
    for cat, code, reason in (
        (Category.TEKUN, "points.tekun", words.NEED_TEKUN),
        (Category.DIBAO, "points.dibao", words.NEED_DIBAO),
        (Category.DISABLED, "points.disabled", words.NEED_DISABLED),
    ):
        if cat in cats:
            score += points[code]
            reasons.append(reason % {"points": points[code]})
    if lives_alone or Category.ALONE in cats:
        score += points["points.alone"]
        reasons.append(words.NEED_ALONE % {"points": points["points.alone"]})
    return score, reasons


def rescore_waiting(year: int) -> int:
    """Score again, with the year's points as they are now, the home-care applications of
    `year` assessed and not yet decided or waiting for a place (the rank must not mix
    two sets of points). Each change is audited (ORM). Returns how many changed."""
    apps = db.session.scalars(
        sa.select(Application).where(
            Application.kind == Kind.HOMECARE,
            Application.year == year,
            Application.status.in_((Status.CHECKED, Status.WAITING)),
            Application.eating.is_not(None),
        )
    ).all()
    changed = 0
    for app in apps:
        checked_on = next((s.on for s in app.steps if s.step == Step.CHECK), app.received_on)
        score, reasons = need(app.person, checked_on, app.assessment(), app.lives_alone, year)
        if score != app.need_score or reasons != list(app.need_reasons or []):
            app.need_score, app.need_reasons = score, reasons
            changed += 1
    db.session.flush()
    return changed


def waiting_list(year: int) -> sa.Select:
    """Home-care applicants of `year` waiting for a place: the most in need first, then
    the longest waiting."""
    return (
        sa.select(Application)
        .where(
            Application.kind == Kind.HOMECARE,
            Application.year == year,
            Application.status == Status.WAITING,
        )
        .order_by(Application.need_score.desc(), Application.waiting_since, Application.id)
    )


def rank_entry(app: Application, rank: int, today: date) -> dict:
    wait = (today - app.waiting_since).days if app.waiting_since else 0
    return {
        "rank": rank,
        "application_id": app.id,
        "person_id": app.person_id,
        "name": app.person.name,
        "township_code": app.township_code,
        "score": app.need_score or 0,
        "reasons": [
            *(words.shown(r) for r in app.need_reasons or []),
            _("轮候 %(days)s 天（自 %(since)s）", days=wait, since=app.waiting_since.isoformat())
            if app.waiting_since
            else _("轮候"),
        ],
        "care_level": app.care_level.value if app.care_level else None,
        "waiting_since": app.waiting_since,
        "days_waiting": wait,
    }
