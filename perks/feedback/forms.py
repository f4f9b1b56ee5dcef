"""Forms of the feedback box: sending, replying, answering, declining, rating, and HR's
owner and targets per department."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext, lazy_pgettext
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp

from perks.feedback.models import MAX_SUBJECT, MAX_TEXT, Topic
from perks.forms import Form, Length, NumberRange, shown_field, trimmed
from perks.people.models import Department, User

_TEXT = {"rows": 5, "maxlength": MAX_TEXT}


class FeedbackForm(Form):
    department = SelectField(_l("To"), coerce=int, validators=[InputRequired()])
    topic = SelectField(
        _l("About"),
        choices=[SelectChoice(t.value, t.lazy_label) for t in Topic],
        validators=[InputRequired()],
    )
    subject = StringField(
        _l("Subject"), validators=[DataRequired(), Length(max=MAX_SUBJECT)], filters=[trimmed]
    )
    text = TextAreaField(
        _l("Your feedback"),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
        render_kw=_TEXT,
        filters=[trimmed],
    )
    anonymous = BooleanField(
        _l("Send it anonymously"),
        description=_l(
            "Nobody, not even the database, will know it was you. You get a private link to "
            "read the answer and reply: keep it, it is shown once."
        ),
    )
    #: the token of this form (``items.new_sending``): the same form sent again is the item
    #: it opened. Optional: a page opened before it existed opens an item each time
    sending = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])
    submit = SubmitField(_l("Send feedback"))

    def set_choices(self, departments: Sequence[Department]) -> None:
        self.department.choices = [SelectChoice(0, _l("HR (any topic)"))] + [
            SelectChoice(d.id, d.name) for d in departments
        ]


class MessageForm(Form):
    text = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
        render_kw=_TEXT,
        filters=[trimmed],
    )
    submit = SubmitField(_l("Send"))


class AnswerForm(Form):
    text = TextAreaField(
        _l("Answer"),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
        render_kw=_TEXT,
        filters=[trimmed],
    )
    publish = BooleanField(_l("Publish it on the answer times page (without names)"))
    submit = SubmitField(_l("Answer"))


class DeclineForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
        render_kw={"rows": 3},
        filters=[trimmed],
    )
    submit = SubmitField(_l("Decline"))


class RatingForm(Form):
    #: radios with their number in words, none chosen (a list of bare stars, 5 preselected,
    #: read as nothing to a screen reader and sent 5 on a single tap)
    rating = RadioField(
        _l("How good was the answer?"),
        coerce=int,
        choices=[
            SelectChoice(n, lazy_ngettext("%(num)d star", "%(num)d stars", n))
            for n in range(5, 0, -1)
        ],
        validators=[InputRequired(_l("Choose from 1 to 5 stars."))],
    )
    submit = SubmitField(lazy_pgettext("to rate an answer", "Rate"))


class DeskForm(Form):
    owner = SelectField(_l("Owner"), coerce=int, validators=[InputRequired()])
    acknowledge_days = IntegerField(
        _l("Acknowledge within (working days)"), validators=[InputRequired(), NumberRange(1, 60)]
    )
    answer_days = IntegerField(
        _l("Answer within (working days)"), validators=[InputRequired(), NumberRange(1, 120)]
    )
    #: ``items.shown_desk_fingerprint`` of the desk as the page showed it, so a save from a
    #: page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()
    submit = SubmitField(_l("Save"))

    def set_choices(self, people: Sequence[User]) -> None:
        self.owner.choices = [SelectChoice(0, _l("HR"))] + [
            SelectChoice(p.id, p.name) for p in people
        ]
