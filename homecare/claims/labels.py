"""Words for codes, in plain Chinese (English in the translations): the reasons a line
was cut, the decisions, the statuses, the call-back outcomes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

REASON_LABELS = {
    "no_visit": _l("没有对应的服务记录（或不是本组织的服务）"),
    "duplicate_line": _l("重复申报：同一次服务的同一项目已申报过"),
    "id_mismatch": _l("身份证号与该次服务的老人不符"),
    "amount_mismatch": _l("金额与价目表不符：按单价×数量核定"),
    "quantity_exceeds_time": _l("申报时长超过签到至签退的时间：按在场时间核定"),
    "over_budget": _l("超出该次服务从老人补贴账户支付的金额：按实际支付核定"),
    "not_enrolled": _l("服务当日老人未登记或已退出居家养老服务"),
    "deceased": _l("服务日期在老人去世之后"),
    "outside_month": _l("服务日期不在申报月份内"),
    "visit_incomplete": _l("该次服务未签退"),
    "worker_overlap": _l("同一服务人员同一时间在另一户服务"),
    # proof of presence (presence.py): they hold the line until a clerk resolves it
    "same_place": _l("同一天三位以上老人的卡在同一地点（50 米内）扫码，不在老人家中"),
    "impossible_travel": _l("与该服务人员上一次服务的住址相距太远，时速 60 公里赶不到"),
    "suspect_card": _l("疑似翻拍服务卡：一处连扫多位老人的卡，或同一张卡在多处被扫"),
    "far_from_home": _l("扫码地点距老人住址超过 1 公里"),
    "future_time": _l("扫码时间晚于收到的时间：手机时间不对或记录被改过"),
    "late_upload": _l("扫码后超过 72 小时才上传，可能是事后补扫"),
    "no_location": _l("扫码时手机未定位，无法核对是否在老人家中"),
    "no_home_point": _l("老人尚无住址定位，无法核对扫码地点"),
}
#: A held line's state, in place of its decision until a clerk resolves it.
HELD_LABEL = _l("待核实")
#: presence.ACCEPT_REASONS and REJECT_REASONS in words.
ACCEPT_LABELS = {
    "callback_confirmed": _l("电话回访老人，确认当天已服务"),
    "provider_proof": _l("服务组织提供了到场证明（照片、签字单等）"),
    "home_point_pending": _l("老人住址定位待采集，服务本身无疑问"),
    "poor_coverage": _l("该处信号或定位不好，已核实"),
    "other": _l("其他（见说明）"),
}
REJECT_LABELS = {
    "no_proof": _l("无法证明服务人员到场"),
    "elder_denied": _l("老人或家属否认当天有人上门"),
    "office_scanning": _l("服务卡不在老人家中扫码（集中扫码、补扫）"),
    "other": _l("其他（见说明）"),
}
DECISION_LABELS = {"approved": _l("通过"), "adjusted": _l("核减"), "rejected": _l("不予支付")}
STATUS_LABELS = {
    "draft": _l("草稿"),
    "submitted": _l("已提交"),
    "reconciled": _l("已对账"),
    "approved": _l("已审批"),
    "paid": _l("已支付"),
    "withdrawn": _l("已撤回"),
}
#: The badge colour of each status (static/css classes status-*).
STATUS_BADGES = {
    "draft": "held",
    "submitted": "held",
    "reconciled": "occupied",
    "approved": "ok",
    "paid": "off",
    "withdrawn": "off",
}
SOURCE_LABELS = {"upload": _l("上传文件"), "generated": _l("按服务记录生成")}
OUTCOME_LABELS = {
    "confirmed": _l("确认已服务"),
    "not_delivered": _l("未提供服务"),
    "unreachable": _l("联系不上"),
    "complaint": _l("有投诉"),
}
CALLBACK_REASON_LABELS = {"chance": _l("随机抽取"), "risk": _l("风险抽取")}


def reason_text(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def reasons_text(codes: list[str]) -> str:
    return "；".join(reason_text(c) for c in codes)
