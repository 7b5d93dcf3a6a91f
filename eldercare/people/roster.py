"""The roster's rules (花名册): what a township's .xlsx or .csv must say about each
person, checked before anything is written.

The sheet is read and its data rows found in roster_columns. Each cell is read by
eldercare.tabular's parsers, as in every upload: full-width text made half-width,
dates as 2026-06-03, 2026/6/3, 2026年6月3日 or 20260603, ID numbers by idnumbers.

Every problem is reported as ``{"row", "column", "message", "seq"}``: ``row`` is the
row number the spreadsheet shows (the record number for CSV, as Excel shows it),
``column`` the header text as written in the file (None for a problem of the whole
row or file), ``message`` in Chinese, ``seq`` the row's 序号 where the file has one.

Checking needs a handful of queries whatever the file's size: every region once
(roster_regions), existing people by ID number in chunks (roster_registry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .. import idnumbers, tabular
from ..timeutil import local_today
from . import services
from .roster_columns import (
    CARE,
    CATEGORY,
    SEX,
    SEX_WORD,
    SUPPORT,
    ImportFileError,
    Progress,
    data_rows,
    read_sheet,
)
from .roster_regions import Regions, word
from .roster_registry import against_registry

PROGRESS_EVERY = 500


# --------------------------------------------------------------------------- the report


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    file_type: str = ""  # "xlsx", "csv/utf-8", "csv/gbk" …

    def error(self, row: int | None, column: str | None, message: str, seq: str = "") -> None:
        self.errors.append(_problem(row, column, message, seq))

    def warn(self, row: int | None, column: str | None, message: str, seq: str = "") -> None:
        self.warnings.append(_problem(row, column, message, seq))

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": self.errors,
            "warnings": self.warnings,
            "file_type": self.file_type,
        }


def _problem(row, column, message, seq) -> dict:
    out = {"row": row, "column": column, "message": message}
    if seq:
        out["seq"] = seq
    return out


def problems(report: dict):
    """Rows for exporting a report's problems as a spreadsheet."""
    for kind, key in (("错误", "errors"), ("警告", "warnings")):
        for p in report.get(key) or []:
            yield (
                kind,
                p.get("row") or "",
                p.get("seq") or "",
                p.get("column") or "",
                p["message"],
            )


# --------------------------------------------------------------------------- the file


@dataclass
class CheckedRoster:
    report: ImportReport
    rows: list[RowData]
    columns: set[str]  # fields the file has


def check_roster(
    content: bytes, filename: str = "", *, progress: Progress | None = None
) -> CheckedRoster:
    """Read and check a roster; writes nothing. The report holds every problem."""
    report = ImportReport()
    try:
        sheet = read_sheet(content, progress)
    except ImportFileError as exc:
        report.error(None, None, str(exc))
        return CheckedRoster(report, [], set())
    report.file_type = sheet.file_type
    today = local_today()
    check = Checking(report, sheet.columns, Regions(today), today)
    candidates: list[RowData] = []
    total = len(sheet.rows) - sheet.header - 1
    for done, (number, values, texts) in enumerate(data_rows(sheet), start=1):
        if progress and done % PROGRESS_EVERY == 0:
            progress("checking", done, total)
        row = Row(check, number, values, texts)
        if not row.text("name") and not row.text("id_number"):
            if sum(1 for t in texts if t) > 1:  # else a pre-numbered empty line, a sub-heading
                report.error(number, None, "这一行缺少姓名和身份证号码。", row.seq)
            continue
        report.rows += 1
        checked = check_row(row)
        if checked is not None:
            candidates.append(checked)
    if progress:
        progress("checking", total, total)
    rows = against_registry(candidates, report, check.column)
    if report.rows == 0 and not report.errors:
        report.error(None, None, "表格中没有数据行（表头下面是空的）。")
    for found in (report.errors, report.warnings):
        found.sort(key=lambda p: (p["row"] is not None, p["row"] or 0))
    return CheckedRoster(report, rows, set(sheet.columns))


# --------------------------------------------------------------------------- one row


@dataclass
class RowData:
    row: int
    seq: str
    name: str
    number: str
    birth_date: date
    sex: str
    township_code: str | None = None
    village_code: str | None = None
    category: str | None = None  # 特困 category: elderly / disabled / minor
    support: str | None = None  # dispersed / centralized
    since: date | None = None
    care_level: str | None = None
    phone: str = ""
    address: str = ""
    home_lat: float | None = None
    home_lng: float | None = None


@dataclass
class Checking:
    """What a whole roster's check shares: the report, the columns, the regions, today
    and the ID numbers seen so far (row, 序号)."""

    report: ImportReport
    columns: tabular.Columns
    regions: Regions
    today: date
    seen: dict[str, tuple[int, str]] = field(default_factory=dict)

    def column(self, fld: str | None) -> str | None:
        return self.columns[fld][1] if fld in self.columns else None


@dataclass
class Row:
    """One data row being checked: its cells by field, and whether it is still clean."""

    check: Checking
    number: int
    values: list
    texts: list[str]
    ok: bool = True

    def cell(self, fld: str):
        i = self.check.columns[fld][0] if fld in self.check.columns else len(self.values)
        return self.values[i] if i < len(self.values) else None

    def text(self, fld: str) -> str:
        i = self.check.columns[fld][0] if fld in self.check.columns else len(self.texts)
        return self.texts[i] if i < len(self.texts) else ""

    @property
    def seq(self) -> str:
        return self.text("seq")

    def error(self, fld: str | None, message: str) -> None:
        self.ok = False
        self.check.report.error(self.number, self.check.column(fld), message, self.seq)

    def warn(self, fld: str | None, message: str) -> None:
        self.check.report.warn(self.number, self.check.column(fld), message, self.seq)


def check_row(row: Row) -> RowData | None:
    """Every rule of one row; the row's data when none is broken."""
    name = _name(row)
    info = _identity(row)
    if info is not None:
        _sex(row, info)
    township, village = _place(row)
    category, support = _support(row)
    since = _since(row, info) if category and support else None
    if info is not None and category and since:
        _age(row, info, category, since)
    care = _choice(row, "care_level", CARE, "自理能力", "全自理、半护理 或 全护理")
    phone, address = _length(row, "phone", "电话", 32), _length(row, "address", "住址", 200)
    home = _home(row)
    if not row.ok or info is None:
        return None
    return RowData(
        row=row.number,
        seq=row.seq,
        name=name,
        number=info.number,
        birth_date=info.birth_date,
        sex=info.sex,
        township_code=township,
        village_code=village,
        category=category,
        support=support,
        since=since,
        care_level=care,
        phone=phone,
        address=address,
        home_lat=home.get("home_lat"),
        home_lng=home.get("home_lng"),
    )


def _name(row: Row) -> str:
    name = row.text("name")
    if not name:
        row.error("name", "姓名为空。")
    elif len(name) > 64:
        row.error("name", "姓名过长（最多 64 个字）。")
    return name


def _identity(row: Row) -> idnumbers.IdInfo | None:
    """The ID number, valid and not already on an earlier row of the file."""
    try:
        info = tabular.id_number(row.cell("id_number"))
    except idnumbers.IdNumberError as exc:
        row.error("id_number", exc.message)
        return None
    seen = row.check.seen
    if info.number in seen:
        first_row, first_seq = seen[info.number]
        where = f"第 {first_row} 行" + (f"（序号 {first_seq}）" if first_seq else "")
        row.error(
            "id_number", f"与{where}的身份证号码相同：同一人在文件中出现了两次，请删去重复的一行。"
        )
    else:
        seen[info.number] = (row.number, row.seq)
    return info


def _sex(row: Row, info: idnumbers.IdInfo) -> None:
    """The ID number decides; a 性别 that says otherwise is a warning."""
    given_text = row.text("sex")
    if not given_text:
        return
    given, actual = SEX.get(word(given_text)), SEX_WORD[info.sex]
    if given is None:
        row.warn("sex", f"性别“{given_text}”无法识别；已按身份证号码记为{actual}。")
    elif given != info.sex:
        row.warn(
            "sex",
            f"性别填写为“{SEX_WORD[given]}”，但身份证号码表明是{actual}性；"
            f"已按身份证号码记为{actual}。",
        )


def _place(row: Row) -> tuple[str | None, str | None]:
    """(township code, village code): a village names its township when the file does
    not (or names the one it was merged into)."""
    regions = row.check.regions
    township_text, village_text = row.text("township"), row.text("village")
    township = regions.township(township_text) if township_text else None
    if township_text and township is None:
        row.error("township", f"没有名为“{township_text}”的乡镇（街道）。")
        return None, None
    if not village_text:
        return township, None
    village, parent, why = regions.village(village_text, township)
    if why == "not_under":
        row.error("village", f"“{township_text}”下没有名为“{village_text}”的村（社区）。")
    elif why == "ambiguous":
        row.error(
            "village", f"有多个名为“{village_text}”的村（社区），请同时填写所属乡镇（街道）。"
        )
    elif why == "unknown":
        row.error("village", f"没有名为“{village_text}”的村（社区）。")
    else:
        return parent, village
    return township, None


def _choice(row: Row, fld: str, words: dict[str, str], label: str, allowed: str) -> str | None:
    """A cell that must be one of a list of words (or empty)."""
    given = row.text(fld)
    if not given:
        return None
    found = words.get(word(given))
    if found is None:
        row.error(fld, f"{label}“{given}”无法识别，应为 {allowed}。")
    return found


def _support(row: Row) -> tuple[str | None, str | None]:
    """(特困 category, support): both or neither."""
    category = _choice(row, "category", CATEGORY, "类别", "老年人、残疾人 或 未成年人")
    support = _choice(row, "support", SUPPORT, "供养方式", "分散 或 集中")
    has_category, has_support = bool(row.text("category")), bool(row.text("support"))
    columns = row.check.columns
    if has_category and not has_support:
        row.error(
            "support" if "support" in columns else "category",
            "填写了特困人员类别，但供养方式为空（应为 分散 或 集中）。",
        )
    if has_support and not has_category:
        row.error(
            "category" if "category" in columns else "support",
            "填写了供养方式，但特困人员类别为空（应为 老年人、残疾人 或 未成年人）。",
        )
    return category, support


def _since(row: Row, info: idnumbers.IdInfo | None) -> date | None:
    """When the 特困 support began: today when the file does not say."""
    today = row.check.today
    try:
        since = tabular.day(row.cell("since")) or today
    except tabular.CellError as exc:
        row.error("since", exc.message)
        return None
    if since > today:
        row.error("since", "供养开始日期晚于今天。")
    elif info is not None and since < info.birth_date:
        row.error("since", "供养开始日期早于出生日期。")
    return since


def _age(row: Row, info: idnumbers.IdInfo, category: str, since: date) -> None:
    age = idnumbers.age_on(info.birth_date, max(since, info.birth_date))
    if category == "minor" and age >= 18:
        row.warn("category", f"类别为未成年人，但按身份证号码此人已 {age} 岁。")
    elif category == "elderly" and age < 60:
        row.warn("category", f"类别为老年人，但按身份证号码此人只有 {age} 岁。")


def _length(row: Row, fld: str, label: str, most: int) -> str:
    value = row.text(fld)
    if len(value) > most:
        row.error(fld, f"{label}过长（最多 {most} 个字符）。")
    return value


def _home(row: Row) -> dict[str, float | None]:
    """The home point in decimal degrees ("31.46", "104.79°"), both or neither."""
    home: dict[str, float | None] = {}
    for fld in services.HOME_POINT_FIELDS:
        try:
            degrees = tabular.decimal(tabular.text(row.cell(fld)).rstrip("°"))
            home[fld] = None if degrees is None else float(degrees)
        except tabular.CellError:
            row.error(fld, f"“{row.text(fld)}”不是数字，请写成十进制度数，如 31.46 和 104.79。")
    if len(home) == 2:
        problem = services.home_point_problem(home["home_lat"], home["home_lng"])
        if problem is not None:
            fld, message = problem
            # a whole column missing: name the one the file has
            row.error(
                fld
                if fld in row.check.columns
                else next(f for f in home if f in row.check.columns),
                message,
            )
    return home
