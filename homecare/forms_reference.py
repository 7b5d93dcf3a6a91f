"""Forms of the reference-data pages (issue 17.1): shape of input only; the rules
(known townships, dates in order, codes unique ignoring case) live in providers.py and
reference.py, whose errors the views put under the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from .reference import CODE_MAX, CODE_PATTERN

UNITS = [
    SelectChoice(v, label)
    for v, label in (("hour", _l("小时")), ("session", _l("次")), ("meal", _l("餐")))
]


class ProviderForm(FlaskForm):
    name = StringField(_l("服务组织名称"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=32)])
    contract_from = DateField(_l("合同开始日期"), validators=[Optional()])
    contract_to = DateField(_l("合同结束日期"), validators=[Optional()])
    # checkboxes named `townships`, drawn by the template; choices set by the view
    townships = SelectMultipleField(_l("合同服务乡镇（街道）"), validate_choice=False)


class ServiceEditForm(FlaskForm):
    name = StringField(_l("服务项目名称"), validators=[DataRequired(), Length(max=64)])
    unit = SelectField(_l("计价单位"), choices=UNITS, validators=[DataRequired()])
    price = DecimalField(
        _l("单价（元）"),
        places=2,
        validators=[
            DataRequired(message=_l("请填写大于 0 的金额")),
            NumberRange(min=0.01, max=999999.99, message=_l("须大于 0")),
        ],
    )


class ServiceForm(ServiceEditForm):
    """A new item of the price list: its code too (fixed once made)."""

    code = StringField(
        _l("服务项目代码"),
        validators=[
            DataRequired(),
            Length(max=CODE_MAX),
            Regexp(CODE_PATTERN, message=_l("只能用字母、数字、横线和下划线")),
        ],
    )


class SubsidyForm(FlaskForm):
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(2000, 2100)])
    amount = DecimalField(
        _l("每位老人每年补贴（元）"),
        places=2,
        validators=[
            DataRequired(message=_l("请填写大于 0 的金额")),
            NumberRange(min=0.01, max=999999.99, message=_l("须大于 0")),
        ],
    )


class CopyForm(FlaskForm):
    from_year = IntegerField(
        _l("从哪一年复制"), validators=[DataRequired(), NumberRange(2000, 2100)]
    )
