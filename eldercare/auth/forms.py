from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=128)])


class OtpForm(FlaskForm):
    code = StringField(_l("动态验证码（6 位）"), validators=[DataRequired(), Length(min=6, max=8)])


class NewPasswordForm(FlaskForm):
    """The one-time password was just typed at the login: only the new one is asked."""

    new_password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(), Length(max=128)],
        description=_l("至少 8 位，且包含大写字母、小写字母、数字、符号中的三类"),
    )
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("两次输入的密码不一致"))],
    )


class ChangePasswordForm(NewPasswordForm):
    """Changing one's own password while logged in: the current one first."""

    password = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=128)])
