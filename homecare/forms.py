"""Home-care forms (Flask-WTF, CSRF): shape of input only; rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp


class EnrolForm(FlaskForm):
    person_id = IntegerField(_l("人员编号"), validators=[DataRequired(), NumberRange(min=1)])
    provider_id = SelectField(_l("服务组织"), validators=[DataRequired()], validate_choice=False)
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(2000, 2100)])
    enrolled_on = DateField(_l("登记日期（材料迟到时填写实际起始日）"), validators=[Optional()])
    outside_reason = StringField(
        _l("跨乡镇服务理由"),
        validators=[Optional(), Length(max=200)],
        description=_l("老人所在乡镇不在该组织的合同服务乡镇内时必填"),
    )


class WorkerForm(FlaskForm):
    username = StringField(
        _l("登录名"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("只能用字母、数字、下划线、点、横线")),
        ],
    )
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=64)])


class ScanForm(FlaskForm):
    """The worker's one button: check in, or check out with the services picked (their
    quantities come as `qty_<code>` fields, read by the view)."""

    client_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    kind = HiddenField(validators=[DataRequired()])


class ManualForm(FlaskForm):
    """A visit logged by hand (card lost or damaged); services come as `qty_<code>`."""

    client_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    start = DateTimeLocalField(_l("开始时间"), validators=[DataRequired()])
    end = DateTimeLocalField(_l("结束时间"), validators=[DataRequired()])
    reason = SelectField(_l("补录原因"), validators=[DataRequired()], validate_choice=True)
    note = StringField(_l("说明"), validators=[DataRequired(), Length(max=500)])


class WithdrawForm(FlaskForm):
    """退出: the day the enrolment ends from, and why."""

    date = DateField(_l("退出日期（自该日起不再享受服务）"), validators=[DataRequired()])
    reason = StringField(_l("退出原因"), validators=[DataRequired(), Length(max=200)])


class TransferForm(FlaskForm):
    """变更服务组织: the new provider and the day it serves from."""

    provider_id = SelectField(
        _l("新的服务组织"), validators=[DataRequired()], validate_choice=False
    )
    date = DateField(_l("变更日期（新服务组织自该日起服务）"), validators=[DataRequired()])
