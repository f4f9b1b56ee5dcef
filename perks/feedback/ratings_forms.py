"""The rating form: stars, an optional comment, and whether to show one's name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import BooleanField, RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from perks.feedback.ratings import COMMENT_LENGTH
from perks.feedback.ratings_models import STARS
from perks.forms import Form, Length


class RatingForm(Form):
    stars = RadioField(
        _l("Your rating"),
        choices=[
            SelectChoice(stars, lazy_ngettext("%(num)d star", "%(num)d stars", stars))
            for stars in reversed(STARS)
        ],
        coerce=int,
        validators=[DataRequired(_l("Choose from 1 to 5 stars."))],
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[Length(max=COMMENT_LENGTH)],
        description=_l("The owner may show it on the page, with your name unless you hide it."),
    )
    hide_name = BooleanField(
        _l("Do not show my name"),
        description=_l(
            "Nobody reading the rating or the feedback it opens sees your name. The rating is "
            "still kept with your account, once per perk or order: to say something with no "
            "trace of you, send anonymous feedback instead."
        ),
    )
    submit = SubmitField(_l("Send my rating"))
