"""Forms of dynamic management: shape of input only; the rules are in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from eldercare.people.forms import choices
from eldercare.templating import LABELS

from .wubao import MANUAL_REASONS

KINDS = [
    ("death", _l("死亡名单")),
    ("moved", _l("迁出名单")),
    ("income", _l("收入名单")),
    ("disability", _l("残疾人证名单（应保尽保）")),
    ("dibao", _l("低保名单（应保尽保）")),
    ("age", _l("当月年满60、80周岁名单（应保尽保）")),
]
REASONS = [(r, LABELS["support_end"][r]) for r in MANUAL_REASONS]
ITEMS = [
    ("eating", _l("进食")),
    ("dressing", _l("穿衣")),
    ("transfer", _l("上下床")),
    ("toileting", _l("如厕")),
    ("walking", _l("室内行走")),
    ("bathing", _l("洗澡")),
]
ABLE = [("1", _l("能独立完成")), ("0", _l("需要帮助"))]


class UploadForm(FlaskForm):
    kind = SelectField(_l("名单类型"), choices=choices(KINDS))
    source = StringField(
        _l("来源部门"),
        validators=[Optional(), Length(max=60)],
        render_kw={"placeholder": _l("公安局、卫健局、人社局…")},
    )
    file = FileField(
        _l("名单文件（.xlsx 或 .csv，列：id_number,name,date[,monthly_amount]）"),
        validators=[FileRequired(_l("请选择文件"))],
    )


class RejectForm(FlaskForm):
    reason = StringField(_l("不采纳理由"), validators=[DataRequired(), Length(max=200)])


class BulkForm(FlaskForm):
    action = SelectField(
        _l("操作"), choices=choices([("accept", _l("采纳所选")), ("reject", _l("不采纳所选"))])
    )
    reason = StringField(_l("不采纳理由"), validators=[Optional(), Length(max=200)])


class ReviewForm(FlaskForm):
    date = DateField(_l("复核日期"), validators=[DataRequired()])
    eating = RadioField(_l("进食"), choices=choices(ABLE), validators=[DataRequired()])
    dressing = RadioField(_l("穿衣"), choices=choices(ABLE), validators=[DataRequired()])
    transfer = RadioField(_l("上下床"), choices=choices(ABLE), validators=[DataRequired()])
    toileting = RadioField(_l("如厕"), choices=choices(ABLE), validators=[DataRequired()])
    walking = RadioField(_l("室内行走"), choices=choices(ABLE), validators=[DataRequired()])
    bathing = RadioField(_l("洗澡"), choices=choices(ABLE), validators=[DataRequired()])
    outcome = RadioField(
        _l("复核结论"),
        choices=choices([("continue", _l("继续供养")), ("terminate", _l("终止供养"))]),
        validators=[DataRequired()],
    )
    reason = SelectField(
        _l("终止原因（认定办法第二十四条）"),
        choices=choices([("", "—"), *REASONS]),
        validators=[Optional()],
    )
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])


class TerminateForm(FlaskForm):
    date = DateField(_l("终止日期"), validators=[DataRequired()])
    reason = SelectField(_l("终止原因（认定办法第二十四条）"), choices=choices(REASONS))
    notes = StringField(_l("备注"), validators=[Optional(), Length(max=200)])
