"""Claims forms (Flask-WTF, CSRF): shape of input only; rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(v, label) for v, label in pairs]


MONTH = Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("月份须为 YYYY-MM"))


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class UploadForm(FlaskForm):
    provider_id = SelectField(_l("服务组织"), validators=[DataRequired()], validate_choice=False)
    month = StringField(_l("结算月份"), validators=[DataRequired(), MONTH])
    file = FileField(_l("申报文件（.csv 或 .xlsx）"), validators=[FileRequired(_l("请选择文件"))])


class GenerateForm(FlaskForm):
    provider_id = SelectField(_l("服务组织"), validators=[DataRequired()], validate_choice=False)
    month = StringField(_l("结算月份"), validators=[DataRequired(), MONTH])


class OverrideForm(FlaskForm):
    decision = SelectField(
        _l("结论"),
        choices=choices(
            [
                ("approved", _l("通过（按申报金额）")),
                ("adjusted", _l("核减为下列金额")),
                ("rejected", _l("不予支付")),
                ("auto", _l("撤销更改，恢复系统结论")),
            ]
        ),
    )
    amount = DecimalField(
        _l("核定金额（元）"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    reason = TextAreaField(_l("理由（必填，将记入审计日志）"), validators=[Length(max=500)])


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        _l("回访结果"),
        choices=choices(
            [
                ("confirmed", _l("确认已服务")),
                ("not_delivered", _l("未提供服务")),
                ("unreachable", _l("联系不上")),
                ("complaint", _l("有投诉")),
            ]
        ),
    )
    note = StringField(_l("说明"), validators=[Length(max=500)])


class PresenceForm(FlaskForm):
    """A clerk's word on held lines (presence.py): one line (`line_no`) or every held line
    of one exception (`exception`); `resolution` is `accept:CODE` or `reject:CODE`."""

    resolution = StringField(
        _l("处理"),
        validators=[
            DataRequired(),
            Regexp(r"^(accept|reject):[a-z_]{1,30}$", message=_l("请选择处理方式")),
        ],
    )
    note = StringField(_l("说明"), validators=[Length(max=500)])
    line_no = IntegerField(validators=[Optional(), NumberRange(min=1)])
    exception = StringField(validators=[Optional(), Length(max=30)])
