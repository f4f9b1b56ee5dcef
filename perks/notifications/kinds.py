"""The kinds of notification: what each says, in which e-mail, and whether e-mail is on.

A kind is a few lines in ``KINDS``: its name (stored on each notification), a title and a
body (``lazy_gettext`` texts with ``%(name)s`` placeholders filled from the notification's
parameters when it is read, in the reader's language), the e-mail template it sends
(``templates/emails/<template>.*``; ``"notification"`` is the plain one that says the title
and the body with a link) and whether e-mail is on for people who have not chosen.
``audience`` keeps a kind meant for some people (feedback to answer, a team's overdue
feedback) off everyone else's choices: it names a check that the capability knowing who they
are registers with ``@audience(name)``.
``to_leavers`` lets a kind reach someone who has left the company (deactivated, or their
leaving date come: the leavers' task deactivates them later that day, and never the last
administrator); every other kind is for people still with it, whoever calls ``notify``
(:func:`reaches`): a leaver can no longer sign in to act on it, nor should they read of
colleagues' matters by e-mail.
``choices`` names the parameters whose stored value is a code shown as a label
(``{"reason": {"refunded": _l("the order was refunded")}}``). A text that says how many of
something is ``counted(singular, plural, by=name)``: the integer parameter ``name`` picks
"1 point" or "20 points" when it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l

from perks.people.models import User

#: the e-mail template that says a notification's title and body, with its link
PLAIN_EMAIL = "notification"


@dataclass(frozen=True)
class Counted:
    """A kind's text that says how many of something: English's singular and plural (one form
    in Vietnamese), chosen by the integer parameter ``by`` when the text is read."""

    singular: str
    plural: str
    by: str

    def pick(self, count: int) -> str:
        """The text for ``count``, in the current language, its placeholders unfilled."""
        return str(get_translations().ungettext(self.singular, self.plural, count))

    def __str__(self) -> str:  # read without a count (a check that the text exists)
        return self.pick(2)


def counted(singular: str, plural: str, *, by: str) -> Counted:
    """A :class:`Counted` text; ``counted`` is an extraction keyword (``-k counted:1,2``), so
    both forms reach the catalog as ``ngettext``'s do. Raises nothing."""
    return Counted(singular, plural, by)


@dataclass(frozen=True)
class Kind:
    """One kind of notification (see the module's docstring)."""

    name: str
    #: what the person's preferences page calls it
    label: object
    title: object
    body: object
    email_template: str = PLAIN_EMAIL
    email_by_default: bool = True
    choices: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: who the kind is for: everyone when None, else the people the check registered under
    #: this name says (see ``audience``), and anyone who has had one
    audience: str | None = None
    #: told to someone who has left the company too (see ``reaches``)
    to_leavers: bool = False


_REASONS = {
    "refunded": _l("the order was refunded"),
    "dispute_lost": _l("the customer's payment dispute was lost"),
    "cancelled": _l("the order was cancelled"),
    "left_company": _l("left the company"),
}

_STATUSES = {
    "acknowledged": _l("acknowledged"),
    "in_progress": _l("in progress"),
    "answered": _l("answered: read the answer and rate it"),
    "closed": _l("closed"),
    "declined": _l("declined, with a reason"),
}

_TARGETS = {"acknowledge": _l("acknowledging it"), "answer": _l("answering it")}

#: a kind's audience name -> whether a person is in it (registered by the capabilities)
AUDIENCES: dict[str, Callable[[User], bool]] = {}


def audience(name: str) -> Callable[[Callable[[User], bool]], Callable[[User], bool]]:
    """Register the check saying who a kind with ``audience=name`` is for. Raises nothing."""

    def register(check: Callable[[User], bool]) -> Callable[[User], bool]:
        AUDIENCES[name] = check
        return check

    return register


def is_for(kind: Kind, person: User) -> bool:
    """Whether ``kind`` is meant for ``person`` (a kind whose check nobody registered is for
    everyone). Raises nothing of its own."""
    check = AUDIENCES.get(kind.audience) if kind.audience else None
    return check is None or check(person)


def reaches(kind: Kind, person: User, today: date) -> bool:
    """Whether a notification of ``kind`` is told to ``person`` on ``today`` (a company day):
    to everyone still with the company, and to those who have left (deactivated, or their
    leaving date come by ``today``) only for a kind meant ``to_leavers``. Raises nothing."""
    return kind.to_leavers or (person.active and not person.has_left(today))


_GIFT_KEEPERS = "gift_keepers"
#: ``perks.recognition.models.GiftsStoppedBy``'s labels (this package imports no capability)
_GIFTS_STOPPED_BY = {
    "budget": _l("the programme's budget is spent"),
    "stock": _l("its gift perk has no codes or stock left"),
    "perk": _l("its gift perk has ended or is no longer published"),
}
_ANSWERERS = "feedback_answerers"
_ESCALATED_TO = "feedback_escalated_to"
_KEEP_THE_ADMINISTRATOR = "keepers_of_the_administrator_role"

#: every kind, in the order the preferences page lists them
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "gift_granted",
            _l("A gift for me"),
            _l("A gift for you: %(programme)s"),
            _l("Your gift for %(date)s: %(perk)s."),
            email_template="gift_granted",
        ),
        Kind(
            "gift_points_granted",
            _l("Points as a gift for me"),
            _l("A gift for you: %(programme)s"),
            counted(
                "Your gift for %(date)s: %(points)s point to spend on rewards.",
                "Your gift for %(date)s: %(points)s points to spend on rewards.",
                by="points",
            ),
            email_template="gift_granted",
        ),
        Kind(
            "gifts_stopped",
            _l("Gifts a programme could not give"),
            _l("Gifts not given: %(programme)s"),
            counted(
                "%(count)s gift due was not given: %(stopped_by)s. A gift more than %(days)s days "
                "late is never given: add codes, extend the gift or raise the budget before "
                "then.",
                "%(count)s gifts due were not given: %(stopped_by)s. A gift more than %(days)s "
                "days late is never given: add codes, extend the gift or raise the budget "
                "before then.",
                by="count",
            ),
            audience=_GIFT_KEEPERS,
            choices={"stopped_by": _GIFTS_STOPPED_BY},
        ),
        Kind(
            "claim_expiring",
            _l("A perk of mine about to end"),
            _l("Use it by %(date)s: %(perk)s"),
            _l(
                "%(date)s is the last day you can use %(perk)s. After that day the code no "
                "longer works."
            ),
        ),
        Kind(
            "draw_entered",
            _l("A draw I entered: my receipt"),
            _l("You are in the draw: %(perk)s"),
            _l(
                "Your entry key is %(key)s. The draw committed to its secret seed before you "
                "entered: commitment %(commitment)s. Keep this message: when the draw is made, "
                "its page must show the same commitment and your key, and anyone can check "
                "the result from them."
            ),
        ),
        Kind(
            "draw_entries_frozen",
            _l("A draw I entered: entries frozen"),
            _l("Entries are frozen: %(perk)s"),
            _l(
                "The entries of the draw are frozen, and their hash is %(entries_hash)s: no "
                "entry can be added, removed or changed after. The draw is made once the "
                "public value of %(day)s is known. Keep this message: the draw page must show "
                "the same hash."
            ),
        ),
        Kind(
            "draw_won",
            _l("A draw I won"),
            _l("You won a seat: %(perk)s"),
            _l(
                "You won the draw for %(perk)s. If you cannot take the seat, decline it by "
                "%(decide_by)s so the next person gets it."
            ),
        ),
        Kind(
            "commission_earned",
            _l("Commission earned"),
            _l("You earned %(amount)s on order %(number)s"),
            _l(
                "A customer you referred used order %(number)s. It becomes payable on "
                "%(date)s, once the holding period is over."
            ),
            email_template="commission_earned",
        ),
        Kind(
            "commission_voided",
            _l("Commission voided"),
            _l("Your commission on order %(number)s was voided"),
            _l("%(amount)s will not be paid: %(reason)s."),
            choices={"reason": _REASONS},
        ),
        Kind(
            "commission_on_hold",
            _l("Commission on hold"),
            _l("Your commission on order %(number)s is on hold"),
            _l("The customer disputed the payment: %(amount)s waits until the dispute is closed."),
        ),
        Kind(
            "commission_released",
            _l("Commission released from hold"),
            _l("Your commission on order %(number)s is no longer on hold"),
            _l("The payment dispute was won: %(amount)s counts again."),
        ),
        Kind(
            "commission_payable",
            _l("Commissions payable"),
            _l("Commissions now payable: %(amounts)s"),
            counted(
                "The holding period of one of your commissions is over: it is paid with the "
                "next payout batch.",
                "The holding period of %(count)s of your commissions is over: they are paid "
                "with the next payout batch.",
                by="count",
            ),
        ),
        Kind(
            "commission_clawed_back",
            _l("Commission clawed back"),
            _l("%(amount)s of your commission on order %(number)s was clawed back"),
            _l(
                "Why: %(reason)s. Whatever of it was already paid is deducted from your next "
                "payout."
            ),
            choices={"reason": _REASONS},
        ),
        Kind(
            "kudos_received",
            _l("Kudos for me"),
            counted(
                "%(giver)s gave you %(points)s point: %(value)s",
                "%(giver)s gave you %(points)s points: %(value)s",
                by="points",
            ),
            _l("“%(message)s”"),
            email_template="kudos_received",
        ),
        Kind(
            "award_received",
            _l("An award for me"),
            _l("You received the award: %(award)s"),
            _l("%(nominator)s nominated you and HR approved it. Congratulations!"),
            email_template="award_approved",
        ),
        Kind(
            "nomination_approved",
            _l("My nomination approved"),
            _l("Your nomination of %(nominee)s was approved"),
            _l("%(nominee)s received the award: %(award)s."),
            email_template="award_approved",
        ),
        Kind(
            "nomination_declined",
            _l("My nomination declined"),
            _l("Your nomination of %(nominee)s was declined"),
            _l("The award: %(award)s. HR's reason: %(reason)s"),
            email_template="nomination_declined",
        ),
        Kind(
            "feedback_updated",
            _l("My feedback answered or moved"),
            _l("Your feedback: %(subject)s"),
            _l("It is now %(status)s."),
            choices={"status": _STATUSES},
        ),
        Kind(
            "feedback_received",
            _l("Feedback for me to answer"),
            _l("New feedback for you to answer: %(count)s"),
            _l("Acknowledge it within the service target; the sender is told at every step."),
            audience=_ANSWERERS,
        ),
        Kind(
            "feedback_reply",
            _l("A reply to feedback I answer"),
            _l("The sender replied: %(subject)s"),
            _l("Read the reply in your feedback inbox."),
            audience=_ANSWERERS,
        ),
        Kind(
            "feedback_overdue",
            _l("Overdue feedback of my team"),
            _l("Feedback is overdue: %(subject)s"),
            _l("%(owner)s is past the service target for %(target)s."),
            # "HR": the items without an owner (``perks.feedback.targets.sweep``)
            choices={"target": _TARGETS, "owner": {"HR": _l("HR")}},
            audience=_ESCALATED_TO,
        ),
        Kind(
            "last_administrator_kept",
            _l("The last administrator's leaving date has come"),
            _l("%(name)s stays active: the last administrator"),
            _l(
                "%(name)s's leaving date (%(date)s) has come, but they are the company's only "
                "active administrator, so their account stays active. Once an administrator "
                "makes someone else an administrator, they leave at the next run of the "
                "leavers' task."
            ),
            audience=_KEEP_THE_ADMINISTRATOR,
            # told to the administrator kept, whose leaving date has come
            to_leavers=True,
        ),
        Kind(
            "survey_reminder",
            _l("Survey reminders"),
            _l("A survey waits for your answer: %(survey)s"),
            _l("Your answers are anonymous: nobody, HR included, can see who gave them."),
        ),
        Kind(
            "rating_invited",
            _l("An invitation to rate a perk I used"),
            _l("How was it? Rate %(perk)s"),
            _l("You used %(perk)s. Give it 1 to 5 stars and, if you like, a comment."),
            email_by_default=False,
        ),
        Kind(
            "rating_invited_order",
            _l("An invitation to rate a purchase I used"),
            _l("How was it? Rate %(product)s"),
            _l("Your order %(number)s was used. Give it 1 to 5 stars and, if you like, a comment."),
            email_by_default=False,
        ),
        Kind(
            "payout_paid",
            _l("Payout paid"),
            _l("Your commissions were paid: %(amounts)s"),
            # true of everyone: some are paid with their wages, others by bank transfer (the
            # e-mail says which)
            _l("Paid with payout %(reference)s (payment reference %(payment)s)."),
            email_template="payout_paid",
            # their money, paid after they left too (the final settlement)
            to_leavers=True,
        ),
        Kind(
            "tax_withheld",
            _l("Personal income tax withheld"),
            _l("%(withheld)s of personal income tax was withheld from your payout"),
            _l(
                "Payout %(reference)s paid you %(gross)s: %(withheld)s was withheld as personal "
                "income tax and %(net)s reaches your account. It is on your yearly withholding "
                "certificate."
            ),
            to_leavers=True,
        ),
    )
}
