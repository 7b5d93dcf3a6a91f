"""Intake forms: the shape of input only; the rules are in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from eldercare.people.forms import choices

KINDS = [("tekun", _l("特困人员救助供养")), ("homecare", _l("居家养老服务"))]
ABLE = [("1", _l("能独立完成")), ("0", _l("需要帮助"))]
SUPPORTS = [
    ("", _l("（未表示）")),
    ("dispersed", _l("分散供养（在家）")),
    ("centralized", _l("集中供养（入住敬老院）")),
]
CATEGORIES = [
    ("", _l("按年龄")),
    ("elderly", _l("老年人")),
    ("disabled", _l("残疾人")),
    ("minor", _l("未成年人")),
]


class NewApplicationForm(FlaskForm):
    kind = SelectField(_l("申请事项"), choices=choices(KINDS))
    id_number = StringField(_l("申请人身份证号"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("姓名（本区尚未登记时必填）"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=32)])
    township_code = SelectField(_l("乡镇（街道）"), validate_choice=False)
    village_code = SelectField(_l("村（社区）"), validate_choice=False)
    address = StringField(_l("住址"), validators=[Optional(), Length(max=200)])
    received_on = DateField(_l("受理日期"), validators=[DataRequired()])
    year = IntegerField(
        _l("申请年度（居家养老）"), validators=[Optional(), NumberRange(2000, 2100)]
    )
    support = SelectField(
        _l("希望的供养方式（特困）"), choices=choices(SUPPORTS), validate_choice=False
    )
    by_proxy = BooleanField(_l("由他人代为申请"))
    proxy_name = StringField(_l("代办人"), validators=[Optional(), Length(max=64)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])


class CheckForm(FlaskForm):
    on = DateField(_l("调查评估日期"), validators=[DataRequired()])
    eating = RadioField(_l("进食"), choices=choices(ABLE), validators=[DataRequired()])
    dressing = RadioField(_l("穿衣"), choices=choices(ABLE), validators=[DataRequired()])
    transfer = RadioField(_l("上下床"), choices=choices(ABLE), validators=[DataRequired()])
    toileting = RadioField(_l("如厕"), choices=choices(ABLE), validators=[DataRequired()])
    walking = RadioField(_l("室内行走"), choices=choices(ABLE), validators=[DataRequired()])
    bathing = RadioField(_l("洗澡"), choices=choices(ABLE), validators=[DataRequired()])
    note = TextAreaField(
        _l("入户调查：经济状况、赡养扶养情况、居住情况"), validators=[Optional(), Length(max=500)]
    )
    lives_alone = BooleanField(_l("独居（居家养老）"))
    services = SelectMultipleField(_l("希望的服务项目（居家养老）"), validate_choice=False)


class NoticeForm(FlaskForm):
    start = DateField(_l("公示开始日期（公示7天）"), validators=[DataRequired()])


class PlanForm(FlaskForm):
    """The lines come as per_month-<code> fields, one per service of the year."""

    on = DateField(_l("计划日期"), validators=[DataRequired()])


class DecideForm(FlaskForm):
    on = DateField(_l("决定日期"), validators=[DataRequired()])
    approved = RadioField(
        _l("决定"),
        choices=choices([("1", _l("确认（同意）")), ("0", _l("不予确认"))]),
        validators=[DataRequired()],
    )
    reasons = TextAreaField(
        _l("理由（不予确认时必填，书面告知申请人）"), validators=[Optional(), Length(max=500)]
    )
    category = SelectField(_l("特困类别"), choices=choices(CATEGORIES), validate_choice=False)
    support = SelectField(_l("供养方式"), choices=choices(SUPPORTS), validate_choice=False)


class EnrolForm(FlaskForm):
    provider_id = SelectField(_l("服务组织（服务该乡镇）"), coerce=int, validate_choice=False)
    agreed_on = DateField(_l("协议签订日期"), validators=[DataRequired()])


class WithdrawForm(FlaskForm):
    on = DateField(_l("撤回日期"), validators=[DataRequired()])
    reason = StringField(_l("撤回原因"), validators=[DataRequired(), Length(max=200)])


class PlaceForm(FlaskForm):
    """The waiting list's button: give the place (the CSRF token only)."""
