"""Two HR people (or one in two tabs) acting on the same feedback item at the same moment
(PostgreSQL): the item moves one way, the other step is refused as the state machine refuses
it one after the other. Each thread has its own app context, so its own session and
connection."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.feedback import items
from perks.feedback.models import FeedbackItem, FeedbackMessage, FeedbackStatus, Topic
from perks.people.models import Role, User
from tests import factories
from tests.helpers import is_postgres
from tests.racing import all_at_once

pytestmark = pytest.mark.postgres_only

S = FeedbackStatus


@pytest.fixture
def racing(app):  # type: ignore[no-untyped-def]
    if not is_postgres(app):
        pytest.skip("steps at the same moment need PostgreSQL (row locks); SQLite serialises")
    return app


def an_item_to_hr(*, acknowledged: bool = True) -> tuple[int, list[int], int]:
    """An item to HR (two HR people), acknowledged; its id, the HR people's, the sender's."""
    hr = [factories.UserFactory(roles={Role.HR}).id for _ in range(2)]
    sender = factories.UserFactory()
    item = items.send_feedback(
        sender, None, Topic.TOOL, "Wi-Fi", "It drops at noon.", anonymous=False
    ).item
    if acknowledged:
        items.acknowledge(item.id, db.session.get(User, hr[0]))
    item_id, sender_id = item.id, sender.id
    db.session.commit()
    db.session.remove()
    return item_id, hr, sender_id


def events(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_an_answer_and_a_decline_at_once_leave_the_item_one_or_the_other(racing):
    item_id, hr, _sender = an_item_to_hr()
    steps = {
        hr[0]: lambda owner: items.answer(item_id, owner, "We fixed it."),
        hr[1]: lambda owner: items.decline(item_id, owner, "Not ours to change."),
    }

    outcome = all_at_once(
        racing,
        hr,
        lambda prepared: steps[prepared[0]](prepared[1]),
        prepare=lambda user_id: (user_id, db.session.get(User, user_id)),
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=1)
    item = db.session.get(FeedbackItem, item_id)
    assert item is not None
    answers = db.session.scalar(
        select(func.count()).select_from(FeedbackMessage).where(FeedbackMessage.item_id == item_id)
    )
    if item.status is S.ANSWERED:  # the answer won: nothing of the decline
        assert (answers, item.decline_reason, item.closed_on) == (1, "", None)
    else:  # the decline won: no answer under a declined item
        assert item.status is S.DECLINED
        assert (answers, item.answered_on) == (0, None)
    assert events("feedback.answer") + events("feedback.decline") == 1


def test_acknowledging_twice_at_once_acknowledges_and_tells_the_sender_once(racing):
    item_id, hr, _sender = an_item_to_hr(acknowledged=False)

    outcome = all_at_once(
        racing,
        [hr[0], hr[0], hr[1]],
        lambda owner: items.acknowledge(item_id, owner),
        prepare=lambda user_id: db.session.get(User, user_id),
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=2)
    assert events("feedback.acknowledge") == 1


def test_a_reply_and_a_decline_at_once_leave_no_reply_under_a_declined_item(racing):
    item_id, hr, sender_id = an_item_to_hr()

    def act(prepared: tuple[str, User]) -> object:
        who, person = prepared
        if who == "sender":
            return items.reply("Any news?", item_id=item_id, sender=person)
        return items.decline(item_id, person, "Not ours to change.")

    outcome = all_at_once(
        racing,
        [("sender", sender_id), ("hr", hr[0])],
        act,
        prepare=lambda pair: (pair[0], db.session.get(User, pair[1])),
    )

    assert outcome.errors == []
    item = db.session.get(FeedbackItem, item_id)
    assert item is not None
    assert item.status is S.DECLINED
    replies = db.session.scalar(
        select(func.count()).select_from(FeedbackMessage).where(FeedbackMessage.item_id == item_id)
    )
    if outcome.answers == Counter(ok=2):  # the reply came first: the decline followed it
        assert replies == 1
    else:  # the decline came first: the reply is refused, not written under it
        assert outcome.answers == Counter(ok=1, Conflict=1)
        assert replies == 0


def test_two_ratings_at_once_rate_the_answer_once(racing):
    item_id, hr, sender_id = an_item_to_hr()
    items.answer(item_id, db.session.get(User, hr[0]), "We fixed it.")
    db.session.remove()

    outcome = all_at_once(
        racing,
        [5, 1],
        lambda rating: items.rate_answer(
            rating, item_id=item_id, sender=db.session.get(User, sender_id)
        ),
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=1)


def test_two_hr_people_setting_a_new_desk_at_once_save_both_in_turn(racing):
    hr = [factories.UserFactory(roles={Role.HR}).id for _ in range(2)]
    department_id = factories.DepartmentFactory().id
    db.session.commit()
    db.session.remove()

    outcome = all_at_once(
        racing,
        [(hr[0], 2), (hr[1], 3)],
        lambda prepared: items.set_desk(
            department_id, items.DeskData(None, prepared[1], 10), prepared[0]
        ),
        prepare=lambda pair: (db.session.get(User, pair[0]), pair[1]),
    )

    assert outcome.errors == []  # not a 500 for the second (the desk's key taken)
    assert outcome.answers == Counter(ok=2)
    assert events("feedback.desk_changed") == 2
