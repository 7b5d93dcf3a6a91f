"""Forms of the set-up pages (issue 17.2): a facility, its closure, rooms and beds."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .forms import choices

FACILITY_KINDS = [
    ("care_home", _l("敬老院")),
    ("day_care", _l("日间照料中心")),
    ("private", _l("民办养老机构")),
    ("homecare_org", _l("居家养老服务组织")),
]
ROOM_SEXES = [("mixed", _l("混住")), ("M", _l("男")), ("F", _l("女"))]
BED_KINDS = [("ordinary", _l("普通床位")), ("nursing", _l("护理型"))]


class FacilityForm(FlaskForm):
    name = StringField(_l("机构名称"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("类型"), choices=choices(FACILITY_KINDS))
    township_code = SelectField(_l("乡镇（街道）"), validators=[Optional()], validate_choice=False)
    address = StringField(_l("地址"), validators=[Optional(), Length(max=200)])
    capacity = IntegerField(_l("核定床位"), validators=[Optional(), NumberRange(0, 100_000)])
    opened_on = DateField(_l("开办日期"), validators=[Optional()])


class CloseForm(FlaskForm):
    date = DateField(_l("关闭日期"), validators=[DataRequired()])


class RoomForm(FlaskForm):
    code = StringField(_l("房间号"), validators=[DataRequired(), Length(max=20)])
    sex = SelectField(_l("住户性别"), choices=choices(ROOM_SEXES))


class BedForm(FlaskForm):
    code = StringField(_l("床位号"), validators=[DataRequired(), Length(max=20)])
    room_id = SelectField(_l("房间"), validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("床位类型"), choices=choices(BED_KINDS))
