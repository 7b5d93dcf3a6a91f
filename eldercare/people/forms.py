from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FloatField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(v, label) for v, label in pairs]


CARE_LEVELS = [("", "—"), ("self", _l("全自理")), ("partial", _l("半护理")), ("full", _l("全护理"))]
CATEGORIES = [
    ("tekun", _l("特困（五保）")),
    ("dibao", _l("低保")),
    ("age80", _l("80岁以上")),
    ("disabled", _l("残疾人")),
    ("alone", _l("独居")),
    ("empty_nest", _l("空巢")),
]


class PersonForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=64)])
    id_number = StringField(_l("身份证号"), validators=[DataRequired(), Length(max=40)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=32)])
    township_code = SelectField(_l("乡镇（街道）"), validators=[Optional()], validate_choice=False)
    village_code = SelectField(_l("村（社区）"), validators=[Optional()], validate_choice=False)
    address = StringField(_l("住址"), validators=[Optional(), Length(max=200)])
    care_level = SelectField(_l("自理能力"), choices=choices(CARE_LEVELS), validators=[Optional()])
    categories = SelectMultipleField(
        _l("类别"), choices=choices(CATEGORIES), validators=[Optional()]
    )
    emergency_contact = StringField(_l("紧急联系人"), validators=[Optional(), Length(max=100)])
    health_notes = TextAreaField(
        _l("健康状况（敏感信息）"), validators=[Optional(), Length(max=2000)]
    )
    home_lat = FloatField(_l("住址纬度（WGS-84）"), validators=[Optional()])
    home_lng = FloatField(_l("住址经度（WGS-84）"), validators=[Optional()])


class DateForm(FlaskForm):
    date = DateField(_l("日期"), validators=[DataRequired()])


class WubaoForm(FlaskForm):
    category = SelectField(
        _l("特困类别"),
        choices=choices(
            [("elderly", _l("老年人")), ("disabled", _l("残疾人")), ("minor", _l("未成年人"))]
        ),
    )
    support = SelectField(
        _l("供养方式"),
        choices=choices([("dispersed", _l("分散供养")), ("centralized", _l("集中供养"))]),
    )
    since = DateField(_l("起始日期"), validators=[DataRequired()])
    applied_centralized_on = DateField(_l("申请集中供养日期"), validators=[Optional()])
