"""The roster's columns (花名册): the names a header may give them, the words a cell
may hold, and reading the sheet down to its data rows.

Reading goes through eldercare.tabular: bounded in rows and columns whatever the file
holds; the type from the content; CSV with comma, tab or semicolon; every sheet of a
workbook, the active one first, until one has the header.

Finding the data. The header row is the first row naming at least 姓名 and 身份证号码
among the known column names (common variants accepted, see ``COLUMNS``). Rows above
it (title, 填报单位 …) are passed over, and so are blank rows, total rows
(合计/总计/小计), pre-numbered empty rows, repeated headers and footers (填表人 …).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import tabular
from .roster_regions import word

Progress = Callable[[str, int, int], None]  # (phase, done, total)

MAX_UNPACKED = 256 * 1024 * 1024  # a 16 MiB upload that unzips beyond this is a zip bomb
HEADER_SEARCH_ROWS = 30
MAX_ROWS = 100_000  # rows of one roster (the district has 13,000 people)


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, encoding, too large)."""


# --------------------------------------------------------------------------- columns

# Canonical field -> header texts, compared after tabular.header_key (half-width, no
# spaces, brackets, slashes or required-markers): 所属乡镇（街道） and 乡镇/街道 are one.
COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号", "序"),
    "name": (
        "姓名",
        "人员姓名",
        "特困人员姓名",
        "供养人员姓名",
        "供养对象姓名",
        "老人姓名",
        "对象姓名",
        "名字",
    ),
    "id_number": (
        "身份证号码",
        "身份证号",
        "身份证",
        "公民身份号码",
        "公民身份证号码",
        "身份证件号码",
        "证件号码",
        "居民身份证号码",
        "身份号码",
        "身份证编号",
    ),
    "sex": ("性别",),
    "township": (
        "所属乡镇街道",
        "乡镇街道",
        "乡镇",
        "所属乡镇",
        "所在乡镇",
        "所在乡镇街道",
        "街道",
        "乡镇街办",
        "乡镇名称",
        "乡镇街道名称",
        "镇街道",
        "镇街",
        "乡镇街",
        "镇乡街道",
        "乡镇街道办",
    ),
    "village": (
        "村社区",
        "村",
        "社区",
        "所属村社区",
        "所在村社区",
        "村居",
        "村居委会",
        "村社区名称",
        "村委会",
        "村社区居委会",
        "所属村",
        "所在村",
        "村居委",
        "村委会社区",
    ),
    "category": (
        "类别",
        "人员类别",
        "特困类别",
        "供养类别",
        "特困人员类别",
        "对象类别",
        "特困供养类别",
    ),
    "support": ("供养方式", "供养形式", "供养类型", "供养方式集中分散"),
    "care_level": (
        "自理能力",
        "生活自理能力",
        "自理情况",
        "生活自理情况",
        "护理等级",
        "照料护理等级",
        "照护等级",
        "护理类别",
        "自理状况",
    ),
    "phone": ("电话", "联系电话", "电话号码", "手机", "手机号", "手机号码", "联系方式"),
    "address": (
        "住址",
        "地址",
        "家庭住址",
        "现住址",
        "居住地址",
        "家庭地址",
        "详细地址",
        "现居住地址",
        "户籍地址",
    ),
    "notes": ("备注",),
    "since": (
        "供养开始日期",
        "开始供养日期",
        "供养起始日期",
        "起始日期",
        "开始日期",
        "纳入日期",
        "纳入时间",
        "认定日期",
        "认定时间",
        "审批日期",
        "审批时间",
        "批准日期",
        "批准时间",
        "享受日期",
        "享受时间",
        "纳入特困日期",
    ),
    # the elder's home point (WGS-84 decimal degrees), both or neither
    "home_lat": ("纬度", "住址纬度", "家庭住址纬度", "居住地纬度", "位置纬度"),
    "home_lng": ("经度", "住址经度", "家庭住址经度", "居住地经度", "位置经度"),
}

SEX = {
    "男": "M",
    "男性": "M",
    "M": "M",
    "MALE": "M",
    "女": "F",
    "女性": "F",
    "F": "F",
    "FEMALE": "F",
}
SEX_WORD = {"M": "男", "F": "女"}
CATEGORY = {
    "老年人": "elderly",
    "老年": "elderly",
    "老人": "elderly",
    "特困老年人": "elderly",
    "特困老人": "elderly",
    "ELDERLY": "elderly",
    "残疾人": "disabled",
    "残疾": "disabled",
    "特困残疾人": "disabled",
    "DISABLED": "disabled",
    "未成年人": "minor",
    "未成年": "minor",
    "儿童": "minor",
    "特困未成年人": "minor",
    "特困儿童": "minor",
    "MINOR": "minor",
}
SUPPORT = {
    "分散": "dispersed",
    "分散供养": "dispersed",
    "居家": "dispersed",
    "DISPERSED": "dispersed",
    "集中": "centralized",
    "集中供养": "centralized",
    "CENTRALIZED": "centralized",
    "CENTRALISED": "centralized",
}
CARE = {
    "全自理": "self",
    "自理": "self",
    "能自理": "self",
    "生活自理": "self",
    "完全自理": "self",
    "生活能自理": "self",
    "SELF": "self",
    "半护理": "partial",
    "半自理": "partial",
    "部分自理": "partial",
    "半失能": "partial",
    "部分失能": "partial",
    "生活半自理": "partial",
    "PARTIAL": "partial",
    "全护理": "full",
    "不能自理": "full",
    "完全不能自理": "full",
    "失能": "full",
    "全失能": "full",
    "生活不能自理": "full",
    "FULL": "full",
}
_TOTAL_WORDS = ("合计", "总计", "小计", "共计", "总数", "累计")
_FOOTER_WORDS = (
    "填表人",
    "填报人",
    "审核人",
    "制表人",
    "制表",
    "负责人",
    "经办人",
    "单位盖章",
    "盖章",
    "注:",
    "说明:",
    "备注:",
    "填表说明",
)  # after NFKC: ： is :


def _guess_id_column(key: str) -> str | None:
    """身份证… headers no list foresaw, but not a guardian's or a relative's number."""
    if ("身份证" in key or "身份号码" in key) and not any(
        w in key for w in ("监护", "联系", "代理", "赡养", "委托", "家属")
    ):
        return "id_number"
    return None


HEADERS = tabular.Headers(COLUMNS, ("name", "id_number"), _guess_id_column)


# --------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    rows: list[tuple[int, list]]  # (row number as the spreadsheet shows it, cell values)
    header: int  # position in rows of the header
    columns: tabular.Columns  # field -> (cell position, header text as written)
    file_type: str


_NO_HEADER = (
    "找不到表头：表格的前 30 行中没有同时含“姓名”和“身份证号码”两列的一行。"
    "请保留表头行（列名可以是 姓名、身份证号码、性别、所属乡镇（街道）、"
    "村（社区）、类别、供养方式、自理能力、电话、住址、备注）。"
)


def read_sheet(content: bytes, progress: Progress | None = None) -> Sheet:
    """The roster's rows with content and its header; bounded in rows (MAX_ROWS) and
    columns (the known ones; a value beyond column IV refuses the file).
    ImportFileError when the file cannot be read, is too large or has no header."""
    limits = tabular.Limits(
        max_rows=MAX_ROWS + HEADER_SEARCH_ROWS,
        header_rows=HEADER_SEARCH_ROWS,
        max_unpacked=MAX_UNPACKED,
    )
    try:
        table = tabular.read_table(
            content,
            HEADERS.width,
            limits,
            delimiters=(",", "\t", ";"),
            all_sheets=True,
            progress=progress,
        )
    except tabular.TableError as exc:
        where = f"第 {exc.row} 行：" if exc.row else ""
        raise ImportFileError(where + exc.message) from None
    if table.header is None:
        raise ImportFileError(_NO_HEADER)
    columns = HEADERS.find(table.rows[table.header][1])
    assert columns is not None  # nosec B101 # read_table found it with HEADERS.width
    return Sheet(table.rows, table.header, columns, table.file_type)


def data_rows(sheet: Sheet):
    """(row number, values, texts) of the rows below the header that hold data: blank
    rows, totals (合计 …), the header repeated (a printed roster's second page) and
    footers (填表人：… 审核人：…) are passed over."""
    header_keys = {tabular.header_key(v) for v in sheet.rows[sheet.header][1]}
    at = sheet.columns["id_number"][0]
    for number, values in sheet.rows[sheet.header + 1 :]:
        texts = [tabular.text(v) for v in values]
        filled = [t for t in texts if t]
        if not filled or any(word(filled[0]).startswith(w) for w in _TOTAL_WORDS):
            continue
        if len(filled) > 1 and {tabular.header_key(t) for t in filled} <= header_keys:
            continue
        if not (texts[at] if at < len(texts) else "") and any(
            w in t for t in filled for w in _FOOTER_WORDS
        ):
            continue
        yield number, values, texts
