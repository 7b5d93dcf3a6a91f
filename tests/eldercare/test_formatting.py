"""The one place for each format: money on pages (templating.money), rates in the
contract (stats.ratio) and on pages (templating.rate), and JSON (jsonutil): money never
passes through a float, times leave in Asia/Shanghai."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from eldercare.jsonutil import JSONProvider
from eldercare.stats import ratio
from eldercare.templating import money, rate


def test_money_is_yuan_with_two_decimals_and_the_sign_before_the_currency():
    assert money(Decimal("1234.5")) == "¥1,234.50"
    assert money(Decimal("-40")) == "-¥40.00"
    assert money(0) == "¥0.00"
    assert money("300.00") == "¥300.00"
    assert money(None) == "—"


def test_a_rate_is_three_decimals_in_the_contract_and_a_percentage_on_pages():
    assert ratio(1298, 1670) == "0.777"
    assert ratio(1, 3) == "0.333" and ratio(2, 3) == "0.667"  # rounded half up
    assert ratio(5, 0) == "0.000"  # nothing to divide by: no error
    assert rate("0.777") == "77.7%"
    assert rate(None) == "—"


class Colour(enum.Enum):
    RED = "red"


def test_json_writes_money_as_a_string_and_times_in_asia_shanghai(app):
    provider = JSONProvider(app)
    out = json.loads(
        provider.dumps(
            {
                "amount": Decimal("300.10"),
                "at": datetime(2026, 1, 31, 16, 30, tzinfo=UTC),
                "day": date(2026, 2, 1),
                "kind": Colour.RED,
                "tags": {"b", "a"},
                "name": "王德福",
            }
        )
    )
    assert out == {
        "amount": "300.10",
        "at": "2026-02-01T00:30:00+08:00",
        "day": "2026-02-01",
        "kind": "red",
        "tags": ["a", "b"],
        "name": "王德福",
    }
    assert "王德福" in provider.dumps({"name": "王德福"})  # not \\u escapes


def test_json_reads_a_number_with_a_fraction_as_a_decimal(app):
    provider = JSONProvider(app)
    data = provider.loads('{"amount": 0.1, "count": 3}')
    assert data["amount"] == Decimal("0.1") and isinstance(data["amount"], Decimal)
    assert data["count"] == 3


def test_json_refuses_what_it_cannot_write_faithfully(app):
    with pytest.raises(TypeError):
        JSONProvider(app).dumps({"x": object()})
