"""Forms of the bed board and placement pages: the shape of input only (CSRF included)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(v, label) for v, label in pairs]


LEAVE_KINDS = [("hospital", _l("住院")), ("home_visit", _l("探亲")), ("other", _l("其他"))]
END_REASONS = [
    ("discharged", _l("出院（回家）")),
    ("deceased", _l("去世")),
    ("moved", _l("迁出")),
    ("other", _l("其他")),
]


class AdmitForm(FlaskForm):
    person_id = SelectField(
        _l("入住人员（五保待安置）"), validators=[Optional()], validate_choice=False
    )
    id_number = StringField(_l("或输入身份证号"), validators=[Optional(), Length(max=40)])
    start_date = DateField(_l("入住日期"), validators=[DataRequired()])


class TransferForm(FlaskForm):
    bed_id = SelectField(_l("转入床位"), validators=[DataRequired()], validate_choice=False)
    date = DateField(_l("转床日期"), validators=[DataRequired()])


class LeaveForm(FlaskForm):
    kind = SelectField(_l("请假类型"), choices=choices(LEAVE_KINDS))
    start_date = DateField(_l("离院日期"), validators=[DataRequired()])
    expected_return = DateField(_l("预计返回"), validators=[DataRequired()])


class DayForm(FlaskForm):
    date = DateField(_l("日期"), validators=[DataRequired()])


class EndForm(FlaskForm):
    date = DateField(_l("离院日期"), validators=[DataRequired()])
    reason = SelectField(_l("原因"), choices=choices(END_REASONS))


class OutageForm(FlaskForm):
    date = DateField(_l("停用日期"), validators=[DataRequired()])
    reason = StringField(_l("停用原因"), validators=[DataRequired(), Length(max=200)])


class PlaceForm(FlaskForm):
    person_id = IntegerField(validators=[DataRequired()])
    bed_id = IntegerField(validators=[DataRequired()])
    date = DateField(_l("入住日期"), validators=[DataRequired()])


class AttendanceForm(FlaskForm):
    id_number = StringField(_l("身份证号或编号"), validators=[DataRequired(), Length(max=40)])
    action = SelectField(
        _l("登记"), choices=choices([("arrive", _l("到达")), ("leave", _l("离开"))])
    )


class TransferRequestForm(FlaskForm):
    facility_id = SelectField(_l("转入机构"), validators=[DataRequired()], validate_choice=False)
    date = DateField(_l("转院日期"), validators=[DataRequired()])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=200)])


class DecisionForm(FlaskForm):
    note = StringField(_l("意见"), validators=[Optional(), Length(max=200)])
