"""eldercare.idnumbers: vectors from DOMAIN.md, the sample roster's damage, properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eldercare import idnumbers
from eldercare.idnumbers import (
    IdInfo,
    IdNumberError,
    age_on,
    check_character,
    is_valid,
    make_number,
    mask,
    normalize,
    parse,
)

VALID = [
    "11010519491231002X",
    "360426199101010071",
    "120103198806018241",
    "44011320141005001X",
    "440308199901101512",
    "510704194503120218",
]

INVALID = [
    ("360426199101010072", "check"),
    ("36042619910102009X", "check"),
    ("360426199113010079", "date"),  # month 13
    ("440308199902301512", "date"),  # 30 February
    ("990426199112010074", "division"),  # no such division
]


def _code(raw: object) -> str:
    with pytest.raises(IdNumberError) as info:
        normalize(raw)
    return info.value.code


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("number", VALID)
def test_valid_vectors(number: str) -> None:
    assert normalize(number) == number
    assert is_valid(number)


@pytest.mark.parametrize(("number", "code"), INVALID)
def test_invalid_vectors(number: str, code: str) -> None:
    assert _code(number) == code
    assert not is_valid(number)


def test_division_that_did_not_exist_in_the_birth_year_is_accepted() -> None:
    # 510704 (游仙区) dates from 1992; stdnum.cn.ric.validate refuses this number.
    from stdnum.cn import ric

    assert not ric.is_valid("510704194503120218")
    info = parse("510704194503120218")
    assert info == IdInfo("510704194503120218", date(1945, 3, 12), "M", "510704")


def test_parse_vectors() -> None:
    assert parse("11010519491231002X") == IdInfo(
        "11010519491231002X", date(1949, 12, 31), "F", "110105"
    )
    assert parse("44011320141005001X").sex == "M"
    assert parse("120103198806018241").sex == "F"


# --------------------------------------------------------------------------- sample roster
# /work/shared/samples/roster-field-gbk.csv, column 身份证号码, row by row (序号).


@pytest.mark.parametrize(
    ("row", "raw", "number", "birth", "sex"),
    [
        (1, "510704193506176511", "510704193506176511", date(1935, 6, 17), "M"),
        (2, "51070419570408158x", "51070419570408158X", date(1957, 4, 8), "F"),
        (4, "510704561015300", "510704195610153001", date(1956, 10, 15), "F"),
        (5, "５１０７０４１９５１０２０４３６１５", "510704195102043615", date(1951, 2, 4), "M"),
        (6, "510704 19460127 8764", "510704194601278764", date(1946, 1, 27), "F"),
        # 性别 says 男; the ID number says female, and the ID number wins.
        (8, "510704194306264888", "510704194306264888", date(1943, 6, 26), "F"),
        (9, "510704195202244318", "510704195202244318", date(1952, 2, 24), "M"),
        (10, "510704201405060584", "510704201405060584", date(2014, 5, 6), "F"),
        (12, "510704194101289045", "510704194101289045", date(1941, 1, 28), "F"),
    ],
)
def test_sample_roster_accepted(row: int, raw: str, number: str, birth: date, sex: str) -> None:
    info = parse(raw)
    assert (info.number, info.birth_date, info.sex, info.division_code) == (
        number,
        birth,
        sex,
        "510704",
    ), row


def test_sample_roster_row_3_excel_number() -> None:
    with pytest.raises(IdNumberError) as info:
        normalize("5.10704195710189E+17")
    err = info.value
    assert err.code == "excel_number"
    assert str(err) == err.message
    assert "Excel" in err.message
    assert "数字" in err.message
    assert "文本" in err.message
    assert "抹掉" in err.message


def test_sample_roster_row_7_wrong_check_digit() -> None:
    assert _code("510704195306075050") == "check"


def test_sample_roster_row_10_is_a_minor() -> None:
    assert age_on(parse("510704201405060584").birth_date, date(2026, 1, 1)) == 11


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "raw",
    [
        " 510704193506176511 ",
        "510704\u300019350617\u30006511",  # full-width spaces
        "510704\u00a0193506176511\t",
        "\u200b510704193506176511\ufeff",
        "'510704193506176511",  # the apostrophe that forces text in Excel
        "5107 0419 3506 1765 11",
        "510704193506176511",
        510704193506176511,
    ],
)
def test_normalize_forgives_layout(raw: object) -> None:
    assert normalize(raw) == "510704193506176511"


def test_full_width_x() -> None:
    assert normalize("51070419570408158ｘ") == "51070419570408158X"
    assert normalize("51070419570408158Ｘ") == "51070419570408158X"


def test_fifteen_digit_int() -> None:
    assert normalize(510704561015300) == "510704195610153001"


@pytest.mark.parametrize(
    "raw",
    [
        "5.10704195710189E+17",
        "5.10704195710189e+17",
        "5.10705E+17",
        "5.10704195710189E17",
        "510704195710189000.0",
        "5,10704195710189E+17",
        5.10704195710189e17,
        510704193506176511.0,
        510704561015300.0,  # a float is always refused, even with its digits intact
        510704195710189000,  # int that went through Excel: 15 significant digits
        int(5.10704195710189e17),  # int that went through a float
    ],
)
def test_excel_number(raw: object) -> None:
    assert _code(raw) == "excel_number"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("\u3000", "empty"),
        ("51070419350617651A", "characters"),
        ("5107041935X6176511", "characters"),
        ("510704-19350617-6511", "characters"),
        ("51070456101530X", "characters"),
        ("五一〇七〇四一九三五〇六一七六五一一", "characters"),
        ("٥١٠٧٠٤١٩٣٥٠٦١٧٦٥١١", "characters"),  # Arabic-Indic digits
        (True, "characters"),
        (b"510704193506176511", "characters"),
        (-510704193506176511, "characters"),
        ("51070419350617651", "length"),
        ("5107041935061765111", "length"),
        ("12345", "length"),
        (12345, "length"),
        ("510704187912310012", "date"),  # before 1880
        ("510704193502290012", "date"),  # 1935 is not a leap year
        ("510704193500170012", "date"),
        ("510704510230300", "date"),  # 15 digits, 30 February
    ],
)
def test_refusals(raw: object, code: str) -> None:
    assert _code(raw) == code


def test_future_birth_date(monkeypatch: pytest.MonkeyPatch) -> None:
    number = make_number("510704", date(2026, 3, 1), 11)
    monkeypatch.setattr(idnumbers, "_today", lambda: date(2026, 2, 28))
    assert _code(number) == "date"
    monkeypatch.setattr(idnumbers, "_today", lambda: date(2026, 3, 1))
    assert normalize(number) == number


def test_check_error_ending_000_mentions_excel() -> None:
    with pytest.raises(IdNumberError) as info:
        normalize("510704195710189000")
    assert info.value.code == "check"
    assert "Excel" in info.value.message


def test_error_codes_are_closed() -> None:
    with pytest.raises(ValueError, match="unknown"):
        IdNumberError("nonsense")
    assert set(idnumbers.MESSAGES) == {
        "empty",
        "excel_number",
        "characters",
        "length",
        "date",
        "check",
        "division",
    }
    err = IdNumberError("check")
    assert isinstance(err, ValueError)
    assert str(err) == idnumbers.MESSAGES["check"]


def test_division_table() -> None:
    assert idnumbers.division_exists("510704")
    assert idnumbers.division_exists("510700")  # 绵阳市
    assert idnumbers.division_exists("120103")  # 天津 河西区
    assert idnumbers.division_exists("110103")  # 崇文区, gone since 2010
    assert not idnumbers.division_exists("990426")
    assert not idnumbers.division_exists("5107")


def test_check_character() -> None:
    assert check_character("11010519491231002") == "X"
    assert check_character("36042619910101007") == "1"
    with pytest.raises(ValueError):
        check_character("1234")


# --------------------------------------------------------------------------- mask


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("51070419570408123X", "510704********123X"),
        ("51070419570408123x", "510704********123X"),
        (" 510704 19570408 123X ", "510704********123X"),
        (None, ""),
        ("", ""),
        ("1234", "****"),
        ("510704561015300", "*" * 15),
    ],
)
def test_mask(raw: str | None, masked: str) -> None:
    assert mask(raw) == masked


def test_idinfo_masked() -> None:
    assert parse("510704194503120218").masked == "510704********0218"


# --------------------------------------------------------------------------- age


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1945, 3, 12), date(2026, 3, 11), 80),
        (date(1945, 3, 12), date(2026, 3, 12), 81),
        (date(1948, 2, 29), date(2026, 2, 28), 77),
        (date(1948, 2, 29), date(2026, 3, 1), 78),
        (date(1948, 2, 29), date(2028, 2, 29), 80),
        (date(2014, 5, 6), date(2014, 5, 6), 0),
    ],
)
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


def test_age_on_before_birth() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --------------------------------------------------------------------------- properties

_CODES = sorted(idnumbers._division_codes())
_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")

divisions = st.sampled_from(_CODES)
birth_dates = st.dates(min_value=date(1880, 1, 1), max_value=date.today())
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    return make_number(draw(divisions), draw(birth_dates), draw(sequences))


@given(valid_numbers())
def test_built_numbers_validate(number: str) -> None:
    assert normalize(number) == number
    info = parse(number)
    assert info.division_code == number[:6]
    assert info.birth_date.strftime("%Y%m%d") == number[6:14]
    assert info.sex == ("M" if int(number[16]) % 2 else "F")


@given(valid_numbers(), st.data())
def test_round_trip_through_damage(number: str, data: st.DataObject) -> None:
    damaged = number.lower()
    if data.draw(st.booleans(), label="full width"):
        damaged = damaged.translate(_FULL_WIDTH)
    cuts = data.draw(st.lists(st.integers(0, 18), max_size=4), label="cuts")
    space = data.draw(st.sampled_from([" ", "\u3000", "\t", "\u00a0"]), label="space")
    for cut in sorted(cuts, reverse=True):
        damaged = damaged[:cut] + space + damaged[cut:]
    assert normalize(damaged) == number


@given(valid_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_single_digit_change_is_refused(number: str, position: int, shift: int) -> None:
    digit = str((int(number[position]) + shift) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    code = _code(changed)
    if 6 <= position < 14:
        # A changed birth-date digit may make the date itself impossible; that is
        # reported first. Otherwise it is the check character that gives it away.
        try:
            born = date(int(changed[6:10]), int(changed[10:12]), int(changed[12:14]))
        except ValueError:
            born = None
        if born is None or born > date.today() or born < date(1880, 1, 1):
            assert code == "date"
            return
    assert code == "check"


@given(
    divisions,
    st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    st.integers(0, 999),
)
def test_fifteen_digits_convert(code: str, birth: date, sequence: int) -> None:
    old = f"{code}{birth:%y%m%d}{sequence:03d}"
    info = parse(old)
    assert len(info.number) == 18
    assert info.number == make_number(code, birth, sequence)
    assert info.birth_date == birth
    assert info.sex == ("M" if sequence % 2 else "F")


@given(valid_numbers())
def test_mask_hides_the_middle(number: str) -> None:
    masked = mask(number)
    assert masked == number[:6] + "********" + number[-4:]
    assert number[6:14] not in masked


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_mask_never_leaks_the_middle_of_anything(text: str) -> None:
    masked = mask(text)
    assert set(masked[6:14]) <= {"*"}
    assert set(masked) <= set("*") or len(masked) == 18


@given(st.one_of(st.text(max_size=25), st.integers(), st.floats(), st.none()))
def test_normalize_only_raises_id_number_error(raw: object) -> None:
    try:
        result = normalize(raw)
    except IdNumberError as err:
        assert err.code in idnumbers.MESSAGES
    else:
        assert len(result) == 18
        assert is_valid(result)


def test_today_is_the_upper_bound() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert _code(make_number("510704", tomorrow, 1)) == "date"
