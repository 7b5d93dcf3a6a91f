"""Roster import (花名册导入): .xlsx or .csv as townships send them, all or nothing.

Reading (eldercare.tabular, bounded in rows and columns whatever the file holds). The
type comes from the content, never the name: a zip holding ``xl/workbook.xml`` is a
workbook (its sheet XML streamed); anything else must decode as text — UTF-8 with or
without BOM, UTF-16 with BOM (Excel's "Unicode text"), else GBK (read as GB18030) —
and parse as CSV (comma, tab or semicolon). The old binary .xls, PDFs, images and the
like are refused with a message saying what to do.

Finding the data. The header row is the first row (of the first sheet that has one)
naming at least 姓名 and 身份证号码 among the known column names (common variants
accepted, see ``COLUMNS``). Rows above it (title, 填报单位 …) are passed over, and
so are blank rows, total rows (合计/总计/小计), pre-numbered empty rows, repeated
headers and footers (填表人 …) below it.

Every problem is reported as ``{"row", "column", "message", "seq"}``: ``row`` is the
row number the spreadsheet shows (the record number for CSV, as Excel shows it),
``column`` the header text as written in the file (None for a problem of the whole
row or file), ``message`` in Chinese, ``seq`` the row's 序号 where the file has one.

Checking happens before anything is written and needs a handful of queries whatever
the file's size: every region once, existing people by ID number in chunks. Storing
loads the existing people again inside the writing transaction (someone may have
changed the registry since the check), creates or updates each person, and records
特困 support through :func:`services.start_wubao`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from .. import audit, crypto, faults, idnumbers, tabular
from ..errors import DomainError
from ..extensions import db
from ..models import (
    CareLevel,
    Category,
    Person,
    PersonCategory,
    PersonStatus,
    Region,
    Sex,
    WubaoSupport,
)
from ..models.imports import ImportJob  # also registers the table with the metadata
from ..timeutil import local_today
from . import services

Progress = Callable[[str, int, int], None]  # (phase, done, total)

MAX_UNPACKED = 256 * 1024 * 1024  # a 16 MiB upload that unzips beyond this is a zip bomb
HEADER_SEARCH_ROWS = 30
CHUNK = 500  # ID numbers per IN (...) look-up
PROGRESS_EVERY = 500


# --------------------------------------------------------------------------- the report


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    file_type: str = ""  # "xlsx", "csv/utf-8", "csv/gb18030" …

    def error(self, row: int | None, column: str | None, message: str, seq: str = "") -> None:
        self.errors.append(_problem(row, column, message, seq))

    def warn(self, row: int | None, column: str | None, message: str, seq: str = "") -> None:
        self.warnings.append(_problem(row, column, message, seq))

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "errors": self.errors, "warnings": self.warnings, "file_type": self.file_type}


def _problem(row, column, message, seq) -> dict:
    out = {"row": row, "column": column, "message": message}
    if seq:
        out["seq"] = seq
    return out


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, encoding, no header)."""


# --------------------------------------------------------------------------- columns

# Canonical field -> header texts, compared after _header_key (NFKC, no spaces,
# brackets, slashes or required-markers): 所属乡镇（街道） and 乡镇/街道 are one key.
COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号", "序"),
    "name": ("姓名", "人员姓名", "特困人员姓名", "供养人员姓名", "供养对象姓名", "老人姓名",
             "对象姓名", "名字"),
    "id_number": ("身份证号码", "身份证号", "身份证", "公民身份号码", "公民身份证号码",
                  "身份证件号码", "证件号码", "居民身份证号码", "身份号码", "身份证编号"),
    "sex": ("性别",),
    "township": ("所属乡镇街道", "乡镇街道", "乡镇", "所属乡镇", "所在乡镇", "所在乡镇街道",
                 "街道", "乡镇街办", "乡镇名称", "乡镇街道名称", "镇街道", "镇街", "乡镇街",
                 "镇乡街道", "乡镇街道办"),
    "village": ("村社区", "村", "社区", "所属村社区", "所在村社区", "村居", "村居委会",
                "村社区名称", "村委会", "村社区居委会", "所属村", "所在村", "村居委",
                "村委会社区"),
    "category": ("类别", "人员类别", "特困类别", "供养类别", "特困人员类别", "对象类别",
                 "特困供养类别"),
    "support": ("供养方式", "供养形式", "供养类型", "供养方式集中分散"),
    "care_level": ("自理能力", "生活自理能力", "自理情况", "生活自理情况", "护理等级",
                   "照料护理等级", "照护等级", "护理类别", "自理状况"),
    "phone": ("电话", "联系电话", "电话号码", "手机", "手机号", "手机号码", "联系方式"),
    "address": ("住址", "地址", "家庭住址", "现住址", "居住地址", "家庭地址", "详细地址",
                "现居住地址", "户籍地址"),
    "notes": ("备注",),
    "since": ("供养开始日期", "开始供养日期", "供养起始日期", "起始日期", "开始日期",
              "纳入日期", "纳入时间", "认定日期", "认定时间", "审批日期", "审批时间",
              "批准日期", "批准时间", "享受日期", "享受时间", "纳入特困日期"),
    # the elder's home point (WGS-84 decimal degrees), both or neither
    "home_lat": ("纬度", "住址纬度", "家庭住址纬度", "居住地纬度", "位置纬度"),
    "home_lng": ("经度", "住址经度", "家庭住址经度", "居住地经度", "位置经度"),
}
_KEY_TO_FIELD = {key: f for f, names in COLUMNS.items() for key in names}
_REQUIRED = ("name", "id_number")
_HEADER_JUNK = re.compile(r"[\s()\[\]{}（）【】/、·:：*＊_\-]|必填|选填|\(必填\)")

_SEX = {"男": "M", "男性": "M", "M": "M", "MALE": "M", "女": "F", "女性": "F", "F": "F",
        "FEMALE": "F"}
_CATEGORY = {
    "老年人": "elderly", "老年": "elderly", "老人": "elderly", "特困老年人": "elderly",
    "特困老人": "elderly", "ELDERLY": "elderly",
    "残疾人": "disabled", "残疾": "disabled", "特困残疾人": "disabled", "DISABLED": "disabled",
    "未成年人": "minor", "未成年": "minor", "儿童": "minor", "特困未成年人": "minor",
    "特困儿童": "minor", "MINOR": "minor",
}
_SUPPORT = {"分散": "dispersed", "分散供养": "dispersed", "居家": "dispersed",
            "DISPERSED": "dispersed", "集中": "centralized", "集中供养": "centralized",
            "CENTRALIZED": "centralized", "CENTRALISED": "centralized"}
_CARE = {
    "全自理": "self", "自理": "self", "能自理": "self", "生活自理": "self", "完全自理": "self",
    "生活能自理": "self", "SELF": "self",
    "半护理": "partial", "半自理": "partial", "部分自理": "partial", "半失能": "partial",
    "部分失能": "partial", "生活半自理": "partial", "PARTIAL": "partial",
    "全护理": "full", "不能自理": "full", "完全不能自理": "full", "失能": "full",
    "全失能": "full", "生活不能自理": "full", "FULL": "full",
}
_SEX_WORD = {"M": "男", "F": "女"}
_TOTAL_WORDS = ("合计", "总计", "小计", "共计", "总数", "累计")
_FOOTER_WORDS = ("填表人", "填报人", "审核人", "制表人", "制表", "负责人", "经办人", "单位盖章",
                 "盖章", "注：", "注:", "说明：", "说明:", "备注：", "备注:", "填表说明")


def _header_key(value) -> str:
    text = unicodedata.normalize("NFKC", _text(value))
    return _HEADER_JUNK.sub("", text)


_text = tabular.text  # one reading of a cell for every upload


def _word(value) -> str:
    """A cell compared with a list of words: NFKC, no whitespace, upper case."""
    text = unicodedata.normalize("NFKC", _text(value))
    return "".join(text.split()).upper()


# --------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    rows: list[tuple[int, list]]  # (row number as the spreadsheet shows it, cell values)
    file_type: str


MAX_ROWS = 100_000  # rows of one roster (the district has 13,000 people)


def sniff(content: bytes) -> str:
    """'xlsx' or 'text' from the content; ImportFileError for anything else."""
    try:
        return tabular.sniff(content)
    except tabular.TableError as exc:
        raise ImportFileError(exc.message) from None


def _header_width(rows: list[tuple[int, list]]) -> int | None:
    """Whether the last row read is the header, and then how many columns to keep."""
    header = _find_header(rows[-1:])
    return None if header is None else max(i for i, _ in header.columns.values()) + 1


def read_sheet(content: bytes, filename: str = "", progress: Progress | None = None) -> Sheet:
    """The roster's rows with content through eldercare.tabular: the type from the
    content, CSV with comma, tab or semicolon, every sheet of a workbook (the active
    one first) until one has the header; bounded in rows (MAX_ROWS) and columns (the
    known ones; a value beyond column IV refuses the file). ImportFileError when the
    file cannot be read or is too large."""
    limits = tabular.Limits(max_rows=MAX_ROWS + HEADER_SEARCH_ROWS, header_rows=HEADER_SEARCH_ROWS,
                            max_unpacked=MAX_UNPACKED)
    try:
        table = tabular.read_table(content, _header_width, limits, delimiters=(",", "\t", ";"),
                                   all_sheets=True, progress=progress)
    except tabular.TableError as exc:
        where = f"第 {exc.row} 行：" if exc.row else ""
        raise ImportFileError(where + exc.message) from None
    return Sheet(table.rows, table.file_type)


# --------------------------------------------------------------------------- header


@dataclass
class Header:
    index: int  # position in Sheet.rows
    row: int  # spreadsheet row number
    columns: dict[str, tuple[int, str]]  # field -> (cell position, header text as written)


def _find_header(rows: list[tuple[int, list]]) -> Header | None:
    for pos, (number, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, tuple[int, str]] = {}
        for i, value in enumerate(values):
            key = _header_key(value)
            fld = _KEY_TO_FIELD.get(key)
            if fld is None and ("身份证" in key or "身份号码" in key) and not any(
                    w in key for w in ("监护", "联系", "代理", "赡养", "委托", "家属")):
                fld = "id_number"
            if fld and fld not in columns:
                columns[fld] = (i, _text(value))
        if all(f in columns for f in _REQUIRED):
            return Header(pos, number, columns)
    return None


# --------------------------------------------------------------------------- checking


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


def _degrees(value) -> float | None:
    """A coordinate cell as decimal degrees: a number, or text such as "31.46" or
    "104.79°" (full-width digits too). None when empty; ValueError when not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    text = unicodedata.normalize("NFKC", _text(value)).rstrip("°").strip()
    return float(text) if text else None


@dataclass
class CheckedRoster:
    report: ImportReport
    rows: list[RowData]
    columns: set[str]  # fields the file has


class _Regions:
    """Townships and villages by name, loaded once."""

    def __init__(self, today: date):
        regions = list(db.session.execute(sa.select(
            Region.code, Region.name, Region.level, Region.kind, Region.parent_code,
            Region.valid_from, Region.valid_to, Region.successor_code)))
        self.today = today
        self.townships: dict[str, list] = {}
        self.villages_by_parent: dict[str, dict[str, str]] = {}
        self.villages_by_name: dict[str, list[tuple[str, str]]] = {}
        self.successors: dict[str, str | None] = {}
        for r in regions:
            if r.level == "township":
                self.successors[r.code] = r.successor_code
                for key in {_word(r.name), _word(_stem(r.name))}:
                    self.townships.setdefault(key, []).append(r)
        for r in regions:
            if r.level == "village":
                for key in {_word(r.name), _word(_village_stem(r.name))}:
                    self.villages_by_parent.setdefault(r.parent_code, {}).setdefault(key, r.code)
                    self.villages_by_name.setdefault(key, []).append((r.code, r.parent_code))
        for units in self.townships.values():  # in force today first
            units.sort(key=lambda r: not _valid_on(r, today))

    def township(self, name: str) -> str | None:
        units = self.townships.get(_word(name)) or self.townships.get(_word(_stem(name)))
        return units[0].code if units else None

    def village(self, name: str, township: str | None) -> tuple[str | None, str | None, str]:
        """(village code, its township code, problem)."""
        keys = [_word(name), _word(_village_stem(name))]
        if township:
            # the township itself, and units merged into it (villages keep their old parent)
            parents = [township] + [c for c, s in self.successors.items() if s == township]
            for parent in parents:
                found = self.villages_by_parent.get(parent, {})
                for key in keys:
                    if key in found:
                        return found[key], parent, ""
            return None, None, "not_under"
        for key in keys:
            matches = self.villages_by_name.get(key) or []
            if len(matches) == 1:
                return matches[0][0], matches[0][1], ""
            if len(matches) > 1:
                return None, None, "ambiguous"
        return None, None, "unknown"


def _valid_on(r, day: date) -> bool:
    return ((r.valid_from is None or r.valid_from <= day)
            and (r.valid_to is None or day <= r.valid_to))


def _stem(name: str) -> str:
    for suffix in ("街道办事处", "街道办", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _village_stem(name: str) -> str:
    for suffix, repl in (("村民委员会", "村"), ("居民委员会", ""), ("村委会", "村"),
                         ("居委会", ""), ("社区居委", "社区")):
        if name.endswith(suffix):
            return name[: -len(suffix)] + repl
    return name


def _parse_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _word(value)
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text)
    if not m:
        raise ValueError(text)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _existing(numbers: Iterable[str]) -> dict[str, dict]:
    """What the registry holds for these numbers: two queries per chunk of 500."""
    numbers = list(dict.fromkeys(numbers))
    out: dict[str, dict] = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        rows = db.session.execute(sa.select(
            Person.id, Person.id_number, Person.name, Person.status, Person.death_date,
        ).where(Person.id_number_in(chunk)))
        by_id = {}
        for r in rows:
            out[r.id_number] = by_id[r.id] = {"id": r.id, "name": r.name, "status": r.status,
                                              "death_date": r.death_date, "support": None}
        if by_id:
            for s in db.session.execute(sa.select(
                    WubaoSupport.person_id, WubaoSupport.category, WubaoSupport.support,
                    WubaoSupport.start_date).where(WubaoSupport.person_id.in_(list(by_id)),
                                                   WubaoSupport.end_date.is_(None))):
                by_id[s.person_id]["support"] = (s.category.value, s.support.value, s.start_date)
    return out


def _is_total(texts: list[str]) -> bool:
    first = next((t for t in texts if t), "")
    return any(_word(first).startswith(w) for w in _TOTAL_WORDS)


def check_roster(content: bytes, filename: str = "", *,
                 progress: Progress | None = None) -> CheckedRoster:
    """Read and check a roster; writes nothing. The report holds every problem."""
    report = ImportReport()
    try:
        sheet = read_sheet(content, filename, progress)
    except ImportFileError as exc:
        report.error(None, None, str(exc))
        return CheckedRoster(report, [], set())
    report.file_type = sheet.file_type
    header = _find_header(sheet.rows)
    if header is None:
        report.error(None, None,
                     "找不到表头：表格的前 30 行中没有同时含“姓名”和“身份证号码”两列的一行。"
                     "请保留表头行（列名可以是 姓名、身份证号码、性别、所属乡镇（街道）、"
                     "村（社区）、类别、供养方式、自理能力、电话、住址、备注）。")
        return CheckedRoster(report, [], set())

    cols = header.columns
    today = local_today()
    regions = _Regions(today)
    data_rows = sheet.rows[header.index + 1:]
    total = len(data_rows)
    header_keys = {_header_key(v) for v in sheet.rows[header.index][1]}

    def cell(values: list, fld: str):
        if fld not in cols:
            return None
        i = cols[fld][0]
        return values[i] if i < len(values) else None

    def colname(fld: str) -> str | None:
        return cols[fld][1] if fld in cols else None

    candidates: list[tuple[RowData, list]] = []
    seen: dict[str, tuple[int, str]] = {}
    for done, (number, values) in enumerate(data_rows, start=1):
        if progress and done % PROGRESS_EVERY == 0:
            progress("checking", done, total)
        texts = [_text(v) for v in values]
        filled = [t for t in texts if t]
        if not filled or _is_total(texts):
            continue
        if {_header_key(v) for v in values if _text(v)} <= header_keys and len(filled) > 1:
            continue  # the header repeated (a printed roster's second page)
        raw_name, raw_id = cell(values, "name"), cell(values, "id_number")
        seq = _text(cell(values, "seq"))
        if not _text(raw_id) and any(w in t for t in filled for w in _FOOTER_WORDS):
            continue  # a footer: 填表人：… 审核人：…
        if not _text(raw_name) and not _text(raw_id):
            if len(filled) <= 1:
                continue  # a pre-numbered empty line or a sub-heading
            report.error(number, None, "这一行缺少姓名和身份证号码。", seq)
            continue
        report.rows += 1
        ok = True

        def err(fld: str | None, msg: str, number=number, seq=seq) -> None:
            nonlocal ok
            ok = False
            report.error(number, colname(fld) if fld else None, msg, seq)

        def warn(fld: str | None, msg: str, number=number, seq=seq) -> None:
            report.warn(number, colname(fld) if fld else None, msg, seq)

        name = _text(raw_name)
        if not name:
            err("name", "姓名为空。")
        elif len(name) > 64:
            err("name", "姓名过长（最多 64 个字）。")
        info = None
        try:
            info = idnumbers.parse(raw_id)
        except idnumbers.IdNumberError as exc:
            err("id_number", exc.message)
        if info is not None:
            if info.number in seen:
                first_row, first_seq = seen[info.number]
                where = f"第 {first_row} 行" + (f"（序号 {first_seq}）" if first_seq else "")
                err("id_number", f"与{where}的身份证号码相同：同一人在文件中出现了两次，"
                                 "请删去重复的一行。")
            else:
                seen[info.number] = (number, seq)

        sex_text = _word(cell(values, "sex"))
        if info is not None and sex_text:
            given = _SEX.get(sex_text)
            actual = _SEX_WORD[info.sex]
            if given is None:
                warn("sex", f"性别“{_text(cell(values, 'sex'))}”无法识别；"
                            f"已按身份证号码记为{actual}。")
            elif given != info.sex:
                warn("sex", f"性别填写为“{_SEX_WORD[given]}”，但身份证号码表明是{actual}性；"
                            f"已按身份证号码记为{actual}。")

        township_code = village_code = None
        township_text = _text(cell(values, "township"))
        if township_text:
            township_code = regions.township(township_text)
            if township_code is None:
                err("township", f"没有名为“{township_text}”的乡镇（街道）。")
        village_text = _text(cell(values, "village"))
        if village_text and not (township_text and township_code is None):
            village_code, parent, why = regions.village(village_text, township_code)
            if why == "not_under":
                err("village", f"“{township_text}”下没有名为“{village_text}”的村（社区）。")
            elif why == "ambiguous":
                err("village", f"有多个名为“{village_text}”的村（社区），"
                               "请同时填写所属乡镇（街道）。")
            elif why == "unknown":
                err("village", f"没有名为“{village_text}”的村（社区）。")
            else:
                township_code = parent

        category = support = None
        cat_text, sup_text = _text(cell(values, "category")), _text(cell(values, "support"))
        if cat_text:
            category = _CATEGORY.get(_word(cat_text))
            if category is None:
                err("category", f"类别“{cat_text}”无法识别，应为 老年人、残疾人 或 未成年人。")
        if sup_text:
            support = _SUPPORT.get(_word(sup_text))
            if support is None:
                err("support", f"供养方式“{sup_text}”无法识别，应为 分散 或 集中。")
        if cat_text and not sup_text:
            err("support" if "support" in cols else "category",
                "填写了特困人员类别，但供养方式为空（应为 分散 或 集中）。")
        if sup_text and not cat_text:
            err("category" if "category" in cols else "support",
                "填写了供养方式，但特困人员类别为空（应为 老年人、残疾人 或 未成年人）。")

        since = None
        raw_since = cell(values, "since")
        if category and support:
            try:
                since = _parse_date(raw_since) or today
            except ValueError:
                err("since", f"日期“{_text(raw_since)}”无法识别，请写成 2026-03-01 的格式。")
            else:
                if since > today:
                    err("since", "供养开始日期晚于今天。")
                elif info is not None and since < info.birth_date:
                    err("since", "供养开始日期早于出生日期。")
        if info is not None and category and since:
            age = idnumbers.age_on(info.birth_date, max(since, info.birth_date))
            if category == "minor" and age >= 18:
                warn("category", f"类别为未成年人，但按身份证号码此人已 {age} 岁。")
            elif category == "elderly" and age < 60:
                warn("category", f"类别为老年人，但按身份证号码此人只有 {age} 岁。")

        care = None
        care_text = _text(cell(values, "care_level"))
        if care_text:
            care = _CARE.get(_word(care_text))
            if care is None:
                err("care_level", f"自理能力“{care_text}”无法识别，应为 全自理、半护理 或 全护理。")

        phone = _text(cell(values, "phone"))
        if len(phone) > 32:
            err("phone", "电话过长（最多 32 个字符）。")
        address = _text(cell(values, "address"))
        if len(address) > 200:
            err("address", "住址过长（最多 200 个字）。")

        home: dict[str, float | None] = {}
        for fld in services.HOME_POINT_FIELDS:
            try:
                home[fld] = _degrees(cell(values, fld))
            except ValueError:
                err(fld, f"“{_text(cell(values, fld))}”不是数字，请写成十进制度数，"
                         "如 31.46 和 104.79。")
        if len(home) == 2:
            problem = services.home_point_problem(home["home_lat"], home["home_lng"])
            if problem is not None:
                fld, msg = problem
                # a whole column missing: name the one the file has
                err(fld if fld in cols else next(f for f in home if f in cols), msg)

        if ok and info is not None:
            candidates.append((RowData(
                row=number, seq=seq, name=name, number=info.number, birth_date=info.birth_date,
                sex=info.sex, township_code=township_code, village_code=village_code,
                category=category, support=support, since=since, care_level=care,
                phone=phone, address=address, home_lat=home.get("home_lat"),
                home_lng=home.get("home_lng")), values))
    if progress:
        progress("checking", total, total)

    # What the registry already holds decides create or update, and what may not be done.
    existing = _existing(r.number for r, _ in candidates)
    rows: list[RowData] = []
    for r, _values in candidates:
        have = existing.get(r.number)
        if have is None:
            rows.append(r)
            continue
        bad = False
        if have["status"] == PersonStatus.DECEASED:
            if r.category:
                bad = True
                report.error(r.row, colname("category"),
                             f"此人已于 {have['death_date']} 登记去世，不能登记特困供养。", r.seq)
            else:
                report.warn(r.row, None, "此人已登记去世；只更新了基本信息。", r.seq)
        elif have["status"] == PersonStatus.MOVED and r.category:
            report.warn(r.row, colname("category"),
                        "此人已登记迁出本区，仍按花名册登记特困供养。", r.seq)
        current = have["support"]
        changes_support = current and (current[0], current[1]) != (r.category, r.support)
        if not bad and r.category and changes_support and r.since and r.since <= current[2]:
            bad = True
            report.error(r.row, colname("since") or colname("support"),
                         f"此人现有的特困供养记录自 {current[2]} 起；新记录的开始日期"
                         f"（{r.since}）须晚于它。", r.seq)
        if have["name"] != r.name:
            report.warn(r.row, colname("name"),
                        f"登记中此身份证号码的姓名为“{have['name']}”，将改为“{r.name}”。", r.seq)
        if not bad:
            rows.append(r)
    if report.rows == 0 and not report.errors:
        report.error(None, None, "表格中没有数据行（表头下面是空的）。")
    report.created = sum(1 for r in rows if r.number not in existing)
    report.updated = len(rows) - report.created
    report.errors.sort(key=lambda p: (p["row"] is not None, p["row"] or 0))
    report.warnings.sort(key=lambda p: (p["row"] is not None, p["row"] or 0))
    return CheckedRoster(report, rows, set(cols))


# --------------------------------------------------------------------------- storing


def _update(person: Person, r: RowData) -> None:
    """What the roster says about a registered person; empty cells change nothing."""
    person.name = r.name
    if r.township_code:
        person.township_code = r.township_code
        if person.village_code and not r.village_code:
            village = db.session.get(Region, person.village_code)
            if village is not None and village.parent_code != r.township_code:
                person.village_code = None
    if r.village_code:
        person.village_code = r.village_code
    if r.care_level:
        person.care_level = CareLevel(r.care_level)
    if r.phone:
        person.phone = r.phone
    if r.address:
        person.address = r.address
    if r.home_lat is not None:
        person.home_lat, person.home_lng = r.home_lat, r.home_lng


@contextmanager
def _one_flush() -> Iterator[None]:
    """Services flush after each change (so that a constraint speaks at once); over
    thousands of rows that is thousands of flushes, each scanning the whole session —
    quadratic (13 s of 17 for 11,000 rows). Inside this block the session's flush waits,
    and happens once at the end: the rules are the services' own, the constraints still
    hold at that flush, and the import is all or nothing anyway."""
    session = db.session()
    session.flush = lambda objects=None: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.flush
    session.flush()


# The audit listener's own row builder and value formatting, for the rows written in bulk
# (CONTRIBUTING: Core inserts are audited beside them), so the entries look the same.
_plain = audit._plain
_entry = audit._row


def _insert_people(values: list[dict], returning: list):
    """INSERT … RETURNING for a batch of people. On PostgreSQL the batch goes as one
    array per column (INSERT … SELECT FROM unnest(…)): a short statement, where a
    multi-row VALUES list of 28,000 placeholders costs more to build and parse than
    the insert itself (4.3 s of 10 for 11,000 rows)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return db.session.execute(sa.insert(Person.__table__).returning(*returning), values)
    from ..database import utcnow

    now = utcnow()
    table = Person.__table__
    names = [*values[0], "created_at", "updated_at"]
    sql_types = {"birth_date": "date", "created_at": "timestamptz", "updated_at": "timestamptz",
                 "home_lat": "double precision", "home_lng": "double precision"}
    params = {n: [v.value if isinstance(v, enum.Enum) else v for v in (row[n] for row in values)]
              for n in values[0]}
    for n in params:  # bound as plain arrays, past the column types: encrypt here
        if isinstance(table.c[n].type, crypto.EncryptedString):
            params[n] = [table.c[n].type.process_bind_param(v, None) for v in params[n]]
    params["created_at"] = params["updated_at"] = [now] * len(values)
    arrays = ", ".join(f"CAST(:{n} AS {sql_types.get(n, 'text')}[])" for n in names)
    # The table's and columns' names are the model's own; every value is bound. (Not an
    # f-string: bandit would warn once for each of its parts that its nosec is unused.)
    sql = "INSERT INTO {} ({}) SELECT * FROM unnest({}) RETURNING {}".format(  # noqa: S608  # nosec B608
        table.name, ", ".join(names), arrays, ", ".join(c.name for c in returning))
    stmt = sa.text(sql).columns(*[sa.column(c.name, c.type) for c in returning])
    return db.session.execute(stmt, params)


def _insert_new(rows: list[RowData]) -> dict[str, int]:
    """New people in bulk (Core INSERT … RETURNING, in batches), each with its audit
    entry as the ORM listener would have written it: {id number: person id}."""
    from ..models import AuditEntry

    if not rows:
        return {}
    person_cols = list(Person.__table__.c)
    values = [{
        "name": r.name, "id_number": r.number, "birth_date": r.birth_date, "sex": Sex(r.sex),
        "phone": r.phone, "address": r.address, "township_code": r.township_code,
        "village_code": r.village_code, "home_lat": r.home_lat, "home_lng": r.home_lng,
        "care_level": CareLevel(r.care_level) if r.care_level else None,
        "status": PersonStatus.ACTIVE, "emergency_contact": "", "health_notes": "",
        # a Core insert: the blind indexes the model's validator would have set
        "id_number_hash": crypto.id_number_hash(r.number),
        "id_tail_hash": crypto.id_tail_hash(r.number),
    } for r in rows]
    ids: dict[str, int] = {}
    entries: list[dict] = []
    for start in range(0, len(values), 2000):
        # Rows come back in any order; the unique ID number tells them apart.
        result = _insert_people(values[start:start + 2000], person_cols)
        for row in result:
            snapshot = {c.key: audit.shown(c, row._mapping[c.name]) for c in person_cols
                        if c.key not in audit.SECRET_FIELDS}
            ids[row.id_number] = row.id
            entries.append(_entry("create", "people", str(row.id), snapshot))
    disabled = [{"person_id": ids[r.number], "category": Category.DISABLED}
                for r in rows if r.category == "disabled"]
    if disabled:
        cat_cols = list(PersonCategory.__table__.c)
        result = db.session.execute(sa.insert(PersonCategory.__table__).returning(*cat_cols),
                                    disabled)
        entries += [_entry("create", "person_categories", str(row.id),
                                {c.key: _plain(row._mapping[c]) for c in cat_cols})
                    for row in result]
    # Through the audit log's hash chain where the core keeps one (each entry's hash
    # covers the one before), so bulk entries are chained like the listener's.
    append = getattr(audit, "_insert_chained", None)
    if append is not None:
        append(db.session(), entries)
    else:
        db.session.execute(sa.insert(AuditEntry.__table__), entries)
    return ids


def save_roster(checked: CheckedRoster, *, progress: Progress | None = None) -> ImportReport:
    """Store a checked roster in the current transaction (flushes, never commits).

    The registry is read again here, inside the writing transaction, so a person
    registered since the check is updated rather than duplicated. New people are
    inserted in bulk; changes to registered people and every 特困 support go through
    the ORM and :func:`services.start_wubao`. A rule broken at this point (a death
    recorded meanwhile …) becomes an error in the report: the caller must then roll
    back, as after any error."""
    report = checked.report
    rows = checked.rows
    existing: dict[str, Person] = {}
    numbers = [r.number for r in rows]
    for start in range(0, len(numbers), CHUNK):
        for p in db.session.scalars(sa.select(Person).where(
                Person.id_number_in(numbers[start:start + CHUNK]))):
            existing[p.id_number] = p
    fresh = [r for r in rows if r.number not in existing]
    created, updated = len(fresh), len(rows) - len(fresh)
    new_ids = _insert_new(fresh)
    faults.pause("import-saving")  # tests only: the new people written, not yet committed
    if progress:
        progress("saving", len(fresh), len(rows))
    # New people who get 特困 support are loaded (in chunks) for start_wubao.
    wanted = [new_ids[r.number] for r in fresh if r.category and r.support]
    for start in range(0, len(wanted), CHUNK):
        for p in db.session.scalars(sa.select(Person).where(
                Person.id.in_(wanted[start:start + CHUNK]))):
            existing[p.id_number] = p
    with db.session.no_autoflush, _one_flush():
        for r in rows:
            person = existing.get(r.number)
            if person is None:
                continue  # new, inserted above, no support to record
            try:
                if r.number not in new_ids:
                    _update(person, r)
                    if r.category == "disabled" and Category.DISABLED not in person.category_set:
                        person.categories.append(PersonCategory(category=Category.DISABLED))
                if r.category and r.support:
                    current = person.current_support
                    if current is None or (current.category.value, current.support.value) != (
                            r.category, r.support):
                        services.start_wubao(person, r.category, r.support,
                                             r.since or local_today())
            except DomainError as exc:
                report.error(r.row, None, exc.message, r.seq)
    report.created, report.updated = created, updated
    if not report.errors:
        audit.record("import", "people", None, {
            "rows": report.rows, "created": created, "updated": updated,
            "warnings": len(report.warnings), "file_type": report.file_type})
    return report


def import_roster(content: bytes, filename: str = "", *, dry_run: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Check a roster and, unless it is a dry run or has errors, store it in the current
    transaction. The caller commits when the report has no errors and it is no dry run,
    and rolls back otherwise."""
    checked = check_roster(content, filename, progress=progress)
    if checked.report.errors or dry_run:
        return checked.report
    return save_roster(checked, progress=progress)


def import_in_request(content: bytes, filename: str = "", *, dry_run: bool = False
                      ) -> ImportReport:
    """:func:`import_roster` for a request that does nothing else: the request's
    transaction is ended first and the check (seconds for a large file, reads only)
    runs without SQLite's write lock, so other writers are not held up; the save then
    takes the lock in a fresh transaction. The caller commits or rolls back as after
    import_roster."""
    from ..database import write_intent

    db.session.commit()
    token = write_intent.set(False)
    try:
        checked = check_roster(content, filename)
    finally:
        db.session.rollback()
        write_intent.reset(token)
    if checked.report.errors or dry_run:
        return checked.report
    return save_roster(checked)


def problems(report: dict) -> Iterator[tuple]:
    """Rows for exporting a report's problems as a spreadsheet."""
    for kind, key in (("错误", "errors"), ("警告", "warnings")):
        for p in report.get(key) or []:
            yield (kind, p.get("row") or "", p.get("seq") or "", p.get("column") or "",
                   p["message"])


# --------------------------------------------------------------------------- jobs
#
# A page upload is a job (eldercare.models.imports.ImportJob). Small files run inline in
# the request; large ones in a thread of the process that received them. Progress goes
# to the job row through its own short transactions, so any worker answers the page's
# polling. The import itself is one transaction that also marks the job done: a job is
# "done" with created people if and only if they were committed. A process that dies
# mid-import leaves nothing stored and a job that the next poll marks failed.

INLINE_BYTES = 256 * 1024  # up to ~2,500 rows: answered within the request
STALE_AFTER = 600  # seconds without a heartbeat: the job is taken as dead
KEEP_CHECKED_FILE = 24 * 3600  # a checked file waits a day for "import it"

_TOKEN = __import__("secrets").token_hex(4)  # tells this process from a later one with the same pid


def worker_id() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def create_job(content: bytes, filename: str, kind: str, user) -> ImportJob:
    """A queued job holding the file (flushes; the caller commits)."""
    from ..database import utcnow
    from ..models.imports import JobKind

    _purge_old_files()
    job = ImportJob(kind=JobKind(kind), filename=(filename or "")[-200:], size=len(content),
                    user_id=user.id, username=user.username, content=content,
                    worker=worker_id(), created_at=utcnow(), updated_at=utcnow())
    db.session.add(job)
    db.session.flush()
    return job


def _purge_old_files() -> None:
    from datetime import timedelta

    from ..database import utcnow

    cutoff = utcnow() - timedelta(seconds=KEEP_CHECKED_FILE)
    db.session.execute(sa.update(ImportJob).where(
        ImportJob.created_at < cutoff, ImportJob.content.is_not(None)).values(content=None))


def _set(job_id: int, **values) -> None:
    """Job bookkeeping in its own transaction, beside the import's."""
    from ..database import utcnow

    with db.engine.begin() as conn:
        conn.execute(sa.update(ImportJob).where(ImportJob.id == job_id)
                     .values(updated_at=utcnow(), **values))


def run_job(job_id: int) -> None:
    """Run a queued job to its end in the current app context (a request or a thread).
    Never raises: a failure is written to the job."""
    import logging
    import time

    from ..database import utcnow, write_intent
    from ..models.imports import JobKind, JobStatus

    log = logging.getLogger(__name__)
    db.session.commit()  # whatever the request holds is committed before the job starts
    _set(job_id, status=JobStatus.RUNNING, phase="reading", worker=worker_id())
    job = db.session.get(ImportJob, job_id)
    content, kind, filename = job.content or b"", job.kind, job.filename
    db.session.rollback()
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == "saving" or (now - last[0] < 0.3 and done < total):
            return  # the writing transaction holds SQLite's lock: no bookkeeping then
        last[0] = now
        _set(job_id, phase=phase, rows_done=done, rows_total=total)

    # Checking only reads: a deferred BEGIN on SQLite, so that the progress writes get in.
    token = write_intent.set(False)
    try:
        checked = check_roster(content, filename, progress=progress)
        db.session.rollback()
        write_intent.set(True)
        report = checked.report
        total = report.rows
        if not report.errors and kind == JobKind.IMPORT:
            _set(job_id, phase="saving", rows_done=0, rows_total=total)
            report = save_roster(checked)
            if report.errors:
                db.session.rollback()
        done = {"status": JobStatus.DONE, "phase": "", "report": report.as_dict(),
                "rows_done": total, "rows_total": total, "finished_at": utcnow(),
                "updated_at": utcnow()}
        if kind == JobKind.IMPORT:
            done["content"] = None  # imported or refused: the file is not kept
        # The job is marked done in the import's own transaction: done means stored.
        db.session.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(**done))
        db.session.commit()
    except Exception:
        log.exception("roster import job %s failed", job_id)
        db.session.rollback()
        try:
            _set(job_id, status=JobStatus.FAILED, phase="", finished_at=utcnow(), content=None,
                 message="导入时服务器出错，没有保存任何数据。请稍后重新上传；若一再出错，请联系管理员。")
        except Exception:  # the database itself is gone; the next poll marks it stale
            log.exception("could not mark import job %s failed", job_id)
    finally:
        write_intent.reset(token)


def start_job(job: ImportJob) -> None:
    """Run inline for a small file, else in a background thread of this process."""
    import threading

    from flask import current_app

    from ..audit import current_actor, set_actor

    if job.size <= current_app.config.get("IMPORT_INLINE_BYTES", INLINE_BYTES):
        run_job(job.id)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    actor = current_actor.get()
    job_id = job.id

    def target() -> None:
        set_actor(actor)
        with app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=target, name=f"roster-import-{job_id}", daemon=True).start()


def confirm_job(job_id: int) -> bool:
    """Turn a clean, finished check into an import of the same file, once (a conditional
    update: a second click changes nothing)."""
    from ..models.imports import JobKind, JobStatus

    job = db.session.get(ImportJob, job_id)
    if job is None or job.report is None or job.report.get("errors"):
        return False
    result = db.session.execute(sa.update(ImportJob).where(
        ImportJob.id == job_id, ImportJob.kind == JobKind.CHECK,
        ImportJob.status == JobStatus.DONE, ImportJob.content.is_not(None),
    ).values(kind=JobKind.IMPORT, status=JobStatus.QUEUED, phase="", rows_done=0,
             finished_at=None, worker=worker_id()))
    db.session.flush()
    db.session.refresh(job)
    return result.rowcount == 1


def _alive(worker: str) -> bool | None:
    """Whether the process named by `worker` (host:pid:token) still runs; None when that
    cannot be told from here (another host)."""
    import os

    host, pid, token = [*worker.split(":"), "", "", ""][:3]
    me_host, me_pid, _me_token = worker_id().split(":")
    if host != me_host or not pid.isdigit():
        return None
    if pid == me_pid:
        return token == _TOKEN  # same pid, other token: an earlier process, gone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A process that has exited but whose parent has not reaped it yet: dead all the
    same. A gunicorn worker killed with its master stays one until init reaps it, and
    some container inits reap late or never; os.kill(pid, 0) still finds it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def refresh_stale(job: ImportJob) -> ImportJob:
    """A queued or running job whose process died is marked failed (nothing was stored:
    the import commits together with 'done')."""
    from datetime import timedelta

    from ..database import utcnow
    from ..models.imports import JobStatus

    if not job.active:
        return job
    dead = _alive(job.worker) is False or job.updated_at < utcnow() - timedelta(seconds=STALE_AFTER)
    if dead:
        db.session.execute(sa.update(ImportJob).where(
            ImportJob.id == job.id, ImportJob.status == job.status,
            ImportJob.updated_at == job.updated_at,
        ).values(status=JobStatus.FAILED, phase="", finished_at=utcnow(), content=None,
                 message="导入在服务器上中断（处理它的进程已退出），没有保存任何数据。请重新上传文件。"))
        db.session.commit()
        db.session.refresh(job)
    return job


PHASES = {"reading": "正在读取文件", "checking": "正在逐行检查", "saving": "正在写入数据库"}
STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


def job_json(job: ImportJob) -> dict:
    report = job.report or None
    return {
        "id": job.id, "kind": job.kind.value, "status": job.status.value,
        "status_label": STATUS[job.status.value], "phase": job.phase,
        "phase_label": PHASES.get(job.phase, ""), "filename": job.filename,
        "rows_total": job.rows_total, "rows_done": job.rows_done, "percent": job.percent,
        "message": job.message, "report": report,
        "stored": bool(job.status.value == "done" and job.kind.value == "import" and report
                       and not report.get("errors")),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
