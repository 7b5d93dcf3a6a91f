"""Reconciliation (API.md): every reason code alone and in combination, the decisions
and approved amounts, totals, and the same answer however often it runs."""

from __future__ import annotations

from datetime import date

from eldercare.extensions import db
from eldercare.people import services as people
from homecare import services as hs
from tests import factories as f

from ..conftest import HOME
from .conftest import by_line, claim_and_reconcile, claim_month, line, reconcile


def test_a_clean_claim_is_approved_whole(client, month):
    v1 = month.visit(0, 3, 9, 65, [("clean", 1), ("meal", 1)])
    v2 = month.visit(1, 3, 11, 40, [("haircut", 1)])
    ans = claim_and_reconcile(
        client,
        month,
        [
            line(1, v1, code="clean", amount="40.00"),
            line(2, v1, code="meal", amount="30.00"),
            line(3, v2, code="haircut", amount="20.00"),
        ],
    )
    assert ans["status"] == "reconciled"
    assert ans["totals"] == {"claimed": "90.00", "approved": "90.00", "rejected": "0.00"}
    for x in ans["lines"]:
        assert x["decision"] == "approved" and x["reasons"] == [] and x["approved"] == x["claimed"]
    assert by_line(ans)[1]["visit_id"] == v1.id


def only(ans, no):
    x = by_line(ans)[no]
    return x["decision"], x["approved"], x["reasons"]


def test_no_visit(client, month):
    theirs = f.user("worker", provider_id=month.other.id)
    other_elder = month.elders[3]
    e = hs.enrol(f.person("外人", township_code="510704003"), month.other, claim_month()[0])
    db.session.commit()
    from decimal import Decimal

    from homecare import visits as hv

    from .conftest import at

    ov = hv.check_in(theirs, e, at(4, 9))
    hv.check_out(ov, at(4, 10), [("clean", Decimal(1))])
    db.session.commit()
    ans = claim_and_reconcile(
        client,
        month,
        [
            line(1, None, person=other_elder, service_date=date(*claim_month(), 4)),
            {**line(2, ov), "visit_id": ov.id},
            {**line(3, None, person=other_elder), "visit_id": 999999},
        ],
    )
    for n in (1, 2, 3):
        assert only(ans, n) == ("rejected", "0.00", ["no_visit"]), n
    assert ans["totals"] == {"claimed": "120.00", "approved": "0.00", "rejected": "120.00"}


def test_duplicate_line_rejects_the_later(client, month):
    v = month.visit(0, 5, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v), line(2, v), line(3, v)])
    assert only(ans, 1) == ("approved", "40.00", [])
    assert only(ans, 2) == ("rejected", "0.00", ["duplicate_line"])
    assert only(ans, 3) == ("rejected", "0.00", ["duplicate_line"])


def test_id_mismatch(client, month):
    v = month.visit(0, 5, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v, id_number=month.elders[1].id_number)])
    assert only(ans, 1) == ("rejected", "0.00", ["id_mismatch"])


def test_lower_case_x_and_15_digits_are_the_same_number(client, month):
    p = f.person("赵玉兰", id_number="11010519491231002X")
    p.home_lat, p.home_lng = HOME  # placed, so that only the number is in question
    e = hs.enrol(p, month.provider, claim_month()[0], on=date(claim_month()[0], 1, 1))
    db.session.commit()
    month.enrolments.append(e)
    v = month.visit(4, 5, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v, id_number="11010519491231002x")])
    assert only(ans, 1) == ("approved", "40.00", [])


def test_amount_mismatch_is_adjusted_to_the_price(client, month):
    v = month.visit(0, 6, 9, 130, [("clean", 2)])
    w = month.visit(1, 6, 14, 30, [("meal", 1)])
    ans = claim_and_reconcile(
        client,
        month,
        [line(1, v, qty="2", amount="95.00"), line(2, w, code="meal", amount="25.00")],
    )
    assert only(ans, 1) == ("adjusted", "80.00", ["amount_mismatch"])
    assert only(ans, 2) == ("adjusted", "30.00", ["amount_mismatch"])
    assert ans["totals"] == {"claimed": "120.00", "approved": "110.00", "rejected": "10.00"}


def test_quantity_exceeds_time_is_cut_to_the_time_on_site(client, month):
    v = month.visit(0, 7, 9, 60, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v, qty="3", amount="120.00")])
    # claimed 3 hours for one hour on site: paid for one hour (also all the visit drew)
    decision, approved, reasons = only(ans, 1)
    assert decision == "adjusted" and approved == "40.00"
    assert "quantity_exceeds_time" in reasons


def test_quantity_within_the_tolerance_passes(client, month):
    v = month.visit(0, 7, 9, 55, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v)])
    assert only(ans, 1) == ("approved", "40.00", [])


def test_over_budget_is_cut_to_what_the_visit_drew(client, month):
    e = month.enrolments[0]
    month.visit(0, 2, 9, 370, [("escort", 4), ("care", 1)])  # 290 of the 300
    v = month.visit(0, 8, 9, 65, [("clean", 1)])  # 40: 10 subsidised, 30 self-paid
    assert v.subsidised == 10
    ans = claim_and_reconcile(client, month, [line(1, v)])
    assert only(ans, 1) == ("adjusted", "10.00", ["over_budget"])
    assert e.id


def test_over_budget_across_lines_of_one_visit_in_line_order(client, month):
    month.visit(0, 2, 9, 300, [("escort", 4)])  # 240 of 300: 60 left
    v = month.visit(0, 8, 9, 130, [("clean", 1), ("care", 1)])  # 90: 60 subsidised
    ans = claim_and_reconcile(
        client, month, [line(1, v, code="clean"), line(2, v, code="care", amount="50.00")]
    )
    assert only(ans, 1) == ("approved", "40.00", [])
    assert only(ans, 2) == ("adjusted", "20.00", ["over_budget"])


def test_not_enrolled(client, month):
    e = month.enrolments[0]
    hs.end_enrolment(e, date(*claim_month(), 10), "withdrawn")
    db.session.commit()
    v = month.visit(0, 12, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v)])
    decision, approved, reasons = only(ans, 1)
    assert (decision, approved) == ("rejected", "0.00") and "not_enrolled" in reasons
    assert "deceased" not in reasons


def test_deceased(client, month):
    v = month.visit(1, 14, 9, 65, [("clean", 1)])
    people.record_death(month.elders[1], date(*claim_month(), 13))
    db.session.commit()
    ans = claim_and_reconcile(client, month, [line(1, v)])
    decision, approved, reasons = only(ans, 1)
    assert (decision, approved) == ("rejected", "0.00") and "deceased" in reasons
    assert "not_enrolled" not in reasons


def test_a_service_on_the_day_of_death_is_paid(client, month):
    v = month.visit(1, 14, 9, 65, [("clean", 1)])
    people.record_death(month.elders[1], date(*claim_month(), 14))
    db.session.commit()
    ans = claim_and_reconcile(client, month, [line(1, v)])
    assert only(ans, 1) == ("approved", "40.00", [])


def test_outside_month(client, month):
    v = month.visit(0, 5, 9, 65, [("clean", 1)])
    y, _m = claim_month()
    ans = claim_and_reconcile(client, month, [line(1, v, service_date=date(y - 1, 12, 31))])
    assert only(ans, 1) == ("rejected", "0.00", ["outside_month"])


def test_visit_of_another_month_is_outside_month(client, month):
    from homecare import visits as hv

    y, m = claim_month()
    if m == 1:
        return  # no earlier month in the enrolment year
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from eldercare.timeutil import LOCAL

    start = datetime(y, m - 1, 20, 9, tzinfo=LOCAL).astimezone(UTC)
    v = hv.check_in(month.worker, month.enrolments[0], start)
    hv.check_out(v, start + timedelta(minutes=65), [("clean", Decimal(1))])
    db.session.commit()
    ans = claim_and_reconcile(client, month, [line(1, v, service_date=date(y, m, 2))])
    assert only(ans, 1) == ("rejected", "0.00", ["outside_month"])


def test_visit_incomplete(client, month):
    v = month.open_visit(0, 9, 9)
    ans = claim_and_reconcile(client, month, [line(1, v)])
    assert only(ans, 1) == ("rejected", "0.00", ["visit_incomplete"])


def test_worker_overlap_rejects_the_later_visit(client, month):
    a = month.visit(0, 10, 9, 120, [("clean", 2)])
    b = month.visit(1, 10, 10, 60, [("clean", 1)])  # same worker, still at elder 0's
    c = month.visit(2, 10, 10, 60, [("clean", 1)], worker=month.worker2)  # another worker
    ans = claim_and_reconcile(
        client, month, [line(1, a, qty="2", amount="80.00"), line(2, b), line(3, c)]
    )
    assert only(ans, 1) == ("approved", "80.00", [])
    assert only(ans, 2) == ("rejected", "0.00", ["worker_overlap"])
    assert only(ans, 3) == ("approved", "40.00", [])


def test_reasons_combine(client, month):
    v = month.visit(0, 5, 9, 60, [("clean", 1)])
    w = month.open_visit(1, 6, 9)
    y, _m = claim_month()
    ans = claim_and_reconcile(
        client,
        month,
        [
            line(1, v),
            # duplicate, another elder's number, a wrong amount
            line(2, v, id_number=month.elders[2].id_number, amount="45.00"),
            # open visit, outside the month, too many hours
            line(3, w, service_date=date(y - 1, 6, 1), qty="5", amount="200.00"),
            # no visit and a wrong amount
            line(4, None, person=month.elders[3], amount="41.00"),
        ],
    )
    assert only(ans, 1) == ("approved", "40.00", [])
    assert only(ans, 2) == (
        "rejected",
        "0.00",
        ["duplicate_line", "id_mismatch", "amount_mismatch"],
    )
    assert only(ans, 3) == ("rejected", "0.00", ["outside_month", "visit_incomplete"])
    assert only(ans, 4) == ("rejected", "0.00", ["no_visit", "amount_mismatch"])


def test_adjustments_combine(client, month):
    month.visit(0, 2, 9, 300, [("escort", 4)])  # 60 left
    v = month.visit(0, 8, 9, 60, [("clean", 2)])  # 80 delivered, 60 subsidised
    ans = claim_and_reconcile(client, month, [line(1, v, qty="3", amount="130.00")])
    decision, approved, reasons = only(ans, 1)
    assert decision == "adjusted" and approved == "40.00"
    assert reasons == ["amount_mismatch", "quantity_exceeds_time"]
    ans2 = claim_and_reconcile_again(client, month, ans["id"])
    assert ans2 == ans


def claim_and_reconcile_again(client, month, claim_id):
    r = reconcile(client, month.admin, claim_id)
    assert r.status_code == 200
    return r.json


def test_reconciling_again_gives_the_same_answer(client, month):
    v = month.visit(0, 5, 9, 65, [("clean", 1)])
    w = month.visit(1, 5, 11, 65, [("clean", 1)])
    ans = claim_and_reconcile(client, month, [line(1, v), line(2, v), line(3, w, amount="9")])
    for _ in range(3):
        assert claim_and_reconcile_again(client, month, ans["id"]) == ans
