"""Account forms (Flask-WTF, CSRF): the shape of input only; rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..models import Role

ROLE_CHOICES = [
    (Role.ADMIN.value, _l("民政局")),
    (Role.MANAGER.value, _l("机构管理员")),
    (Role.PROVIDER.value, _l("服务组织")),
    (Role.WORKER.value, _l("服务人员")),
    (Role.AUDITOR.value, _l("审计")),
    (Role.TOWNSHIP.value, _l("乡镇（街道）经办")),
]

USERNAME = [
    DataRequired(),
    Length(min=3, max=64),
    Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("只能用字母、数字、下划线、点、横线")),
]


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(v, label) for v, label in pairs]


def _int_or_none(value):
    return int(value) if value not in (None, "") and str(value).isdigit() else None


class AccountForm(FlaskForm):
    username = StringField(_l("登录名"), validators=USERNAME)
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("角色"), choices=choices(ROLE_CHOICES), validators=[DataRequired()])
    facility_id = SelectField(
        _l("所属机构（机构管理员必选）"), coerce=_int_or_none, validate_choice=False
    )
    provider_id = SelectField(
        _l("所属服务组织（服务组织、服务人员必选）"), coerce=_int_or_none, validate_choice=False
    )
    township_code = SelectField(_l("所属乡镇（街道）（乡镇经办必选）"), validate_choice=False)


class ActionForm(FlaskForm):
    """Disable, enable, reset: nothing to type, only the CSRF token and where to go back."""

    next = HiddenField()
