"""The feedback box: its state machine, who sees what, service targets and escalation over
weekends and Tết, the public answer times, and anonymous items nobody can trace."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select, text

from perks.auth.models import UserSession
from perks.errors import Conflict, NotFound
from perks.extensions import db
from perks.feedback import items, targets
from perks.feedback.models import FeedbackItem, FeedbackMessage, FeedbackStatus, Topic
from perks.i18n import company_today
from perks.jobs import BEAT_SCHEDULE
from perks.notifications.models import Notification
from perks.notifications.rendering import render
from perks.people.models import Role, User
from tests import factories
from tests.helpers import login
from tests.racing import all_at_once

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

#: the form of an anonymous item to HR
ANONYMOUS_OVERTIME = {
    "department": "0",
    "topic": "policy",
    "subject": "Overtime",
    "text": "Overtime is not paid on time.",
    "anonymous": "y",
}


def follow_up_link(page: str) -> str:
    """The private link an anonymous sender is shown once."""
    return page.split('data-testid="follow-up-link">')[1].split("<")[0]


S = FeedbackStatus

#: every step from every state, written out: the state it leads to, or None (refused)
EXPECTED: dict[tuple[str, FeedbackStatus], FeedbackStatus | None] = {
    ("acknowledge", S.NEW): S.ACKNOWLEDGED,
    ("start", S.ACKNOWLEDGED): S.IN_PROGRESS,
    ("answer", S.ACKNOWLEDGED): S.ANSWERED,
    ("answer", S.IN_PROGRESS): S.ANSWERED,
    ("answer", S.ANSWERED): S.ANSWERED,  # answering the sender's reply
    ("close", S.ANSWERED): S.CLOSED,
    ("decline", S.NEW): S.DECLINED,
    ("decline", S.ACKNOWLEDGED): S.DECLINED,
    ("decline", S.IN_PROGRESS): S.DECLINED,
}

OWNER_STEPS: dict[str, Any] = {
    "acknowledge": items.acknowledge,
    "start": items.start_work,
    "answer": lambda item_id, owner: items.answer(item_id, owner, "We fixed it."),
    "decline": lambda item_id, owner: items.decline(item_id, owner, "Not ours to change."),
    "close": items.close_as_owner,
}


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def send(sender, department_id=None, *, anonymous=False, subject="Wi-Fi"):  # type: ignore[no-untyped-def]
    return items.send_feedback(
        sender, department_id, Topic.TOOL, subject, "It drops at noon.", anonymous=anonymous
    )


def run_the_scheduled_job(app: Flask, moment: datetime) -> tuple[int, int]:
    """What Celery beat's entry sends, run by the worker's code path, the clock at ``moment``."""
    entry = BEAT_SCHEDULE["escalate-overdue-feedback"]
    task = app.extensions["celery"].tasks[entry["task"]]
    with time_machine.travel(moment, tick=False):
        told, escalated = task.apply().get()
    return told, escalated


# --- the state machine ----------------------------------------------------------------------


@pytest.mark.parametrize("status", list(FeedbackStatus))
@pytest.mark.parametrize("step", sorted(OWNER_STEPS))
def test_every_step_from_every_state_is_allowed_or_refused(app, step, status):
    hr = factories.UserFactory(roles={Role.HR})
    item = send(factories.UserFactory()).item
    item.status = status
    db.session.commit()
    expected = EXPECTED.get((step, status))
    if expected is None:
        with pytest.raises(Conflict):
            OWNER_STEPS[step](item.id, hr)
        db.session.expire_all()
        assert db.session.get(FeedbackItem, item.id).status is status
    else:
        assert OWNER_STEPS[step](item.id, hr).status is expected


def test_the_table_in_the_code_is_the_one_tested():
    allowed = {
        (step, source): target
        for step, (sources, target) in items.TRANSITIONS.items()
        for source in sources
    }
    assert allowed == EXPECTED


def test_every_step_has_a_name_in_the_audit_log():
    from perks.admin.audit_details import ACTIONS

    assert set(items.AUDIT_ACTIONS.values()) | {"feedback.desk_changed"} <= set(ACTIONS)


def test_the_sender_is_told_at_every_step_and_rates_the_answer_once(app):
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    item_id = send(sender).item.id
    items.acknowledge(item_id, hr)
    items.start_work(item_id, hr)
    with pytest.raises(Conflict):
        items.rate_answer(4, item_id=item_id, sender=sender)  # nothing to rate yet
    items.answer(item_id, hr, "Fixed: a new access point.")
    told = db.session.scalars(
        select(Notification).where(Notification.user_id == sender.id).order_by(Notification.id)
    ).all()
    assert [(n.kind, n.params["status"]) for n in told] == [
        ("feedback_updated", "acknowledged"),
        ("feedback_updated", "in_progress"),
        ("feedback_updated", "answered"),
    ]
    item = items.rate_answer(4, item_id=item_id, sender=sender)
    assert (item.rating, item.status) == (4, S.CLOSED)
    with pytest.raises(Conflict):
        items.rate_answer(5, item_id=item_id, sender=sender)


def test_an_answer_or_a_reply_sent_twice_in_a_row_is_said_once(app):
    """A double tap on 'Answer' or 'Send' (or a request retried on a slow connection) added the
    same message twice, and told the other side twice."""
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    item_id = send(sender).item.id
    items.acknowledge(item_id, hr)
    for _tap in range(2):
        items.answer(item_id, hr, "Fixed: a new access point.")
    for _tap in range(2):
        items.reply("Still drops at noon.", item_id=item_id, sender=sender)
    items.answer(item_id, hr, "Fixed: a new access point.")  # after a reply: said again
    items.answer(item_id, hr, "Fixed: a new access point.", publish=True)  # sent to publish it

    item = db.session.get(FeedbackItem, item_id)
    assert [(m.author.value, m.text) for m in item.messages] == [
        ("owner", "Fixed: a new access point."),
        ("sender", "Still drops at noon."),
        ("owner", "Fixed: a new access point."),
    ]
    assert item.published
    told = db.session.scalars(
        select(Notification.params)
        .where(Notification.user_id == sender.id)
        .order_by(Notification.id)
    ).all()
    assert [params["status"] for params in told] == ["acknowledged", "answered", "answered"]
    replies = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == hr.id, Notification.kind == "feedback_reply")
    )
    assert replies == 1


def test_an_hr_sender_is_not_told_of_their_own_reply_to_hr(app):
    """An HR person who sent named feedback to HR was told "The sender replied" of their own
    reply, with the other HR people who answer it."""
    sender = factories.UserFactory(roles={Role.HR})
    other_hr = factories.UserFactory(roles={Role.HR})
    item_id = send(sender).item.id
    items.acknowledge(item_id, other_hr)
    items.answer(item_id, other_hr, "Fixed: a new access point.")
    items.reply("Still drops at noon.", item_id=item_id, sender=sender)
    told = db.session.execute(
        select(Notification.user_id).where(Notification.kind == "feedback_reply")
    ).scalars()
    assert sorted(told) == [other_hr.id]


def test_an_hr_sender_is_not_told_of_their_own_feedback_to_answer(app):
    """The sweep told an HR person who sent named feedback to HR "New feedback for you to
    answer" of their own item, and counted it in the others' number."""
    sender = factories.UserFactory(roles={Role.HR})
    other_hr = factories.UserFactory(roles={Role.HR})
    send(sender)
    send(factories.UserFactory(), subject="Parking")
    targets.sweep(company_today())
    told = dict(
        db.session.execute(
            select(Notification.user_id, Notification.params).where(
                Notification.kind == "feedback_received"
            )
        ).all()
    )
    assert told == {sender.id: {"count": 1}, other_hr.id: {"count": 2}}


def test_a_declined_item_says_why_and_takes_no_reply(app):
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    item_id = send(sender).item.id
    item = items.decline(item_id, hr, "Payroll dates are set by law.")
    assert item.decline_reason == "Payroll dates are set by law."
    with pytest.raises(Conflict):
        items.reply("But why?", item_id=item_id, sender=sender)


# --- who sees what --------------------------------------------------------------------------


def test_an_owner_sees_only_the_items_addressed_to_them(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    sales, it = factories.DepartmentFactory(), factories.DepartmentFactory()
    sales_owner, it_owner = factories.UserFactory(), factories.UserFactory()
    for department, owner in ((sales, sales_owner), (it, it_owner)):
        items.set_desk(department.id, items.DeskData(owner.id, 2, 10), hr)
    sender = factories.UserFactory()
    to_sales = send(sender, sales.id, subject="Quota").item.id
    to_it = send(sender, it.id, subject="Laptop").item.id
    to_hr = send(sender, subject="Leave").item.id

    login(client, sales_owner)
    page = client.get("/feedback/inbox").get_data(as_text=True)
    assert "Quota" in page
    assert "Laptop" not in page
    assert "Leave" not in page
    assert client.get(f"/feedback/inbox/{to_sales}").status_code == 200
    assert client.get(f"/feedback/inbox/{to_it}").status_code == 404
    assert client.get(f"/feedback/inbox/{to_hr}").status_code == 404
    assert client.post(f"/feedback/inbox/{to_it}/acknowledge").status_code == 404
    with pytest.raises(NotFound):
        items.acknowledge(to_it, sales_owner)
    assert [i.id for i in items.inbox(hr)] == [to_hr]


def test_a_desk_whose_owner_left_answers_through_hr(app):
    hr = factories.UserFactory(roles={Role.HR})
    sales = factories.DepartmentFactory()
    owner = factories.UserFactory()
    items.set_desk(sales.id, items.DeskData(owner.id, 2, 10), hr)
    sender = factories.UserFactory()
    before = send(sender, sales.id, subject="Quota").item.id
    owner.active = False  # left the company
    db.session.commit()

    after = send(sender, sales.id, subject="Bonus").item
    assert after.owner_id is None  # HR's until HR names another owner
    # HR now answers both: nobody else could
    assert sorted(i.id for i in items.inbox(hr)) == sorted([before, after.id])
    items.acknowledge(before, hr)


def test_hr_hears_of_the_items_of_an_owner_who_left(app):
    """HR answers the items of an owner who has left, but a sender's reply to one told
    nobody, and its escalation went to the leaver's manager, naming the leaver."""
    hr = factories.UserFactory(roles={Role.HR})
    admin = factories.UserFactory(roles={Role.ADMIN})
    manager = factories.UserFactory(roles={Role.MANAGER})
    sales = factories.DepartmentFactory()
    owner = factories.UserFactory(manager=manager)
    items.set_desk(sales.id, items.DeskData(owner.id, 2, 10), hr)
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):  # a Monday
        item_id = send(sender, sales.id, subject="Quota").item.id
        items.acknowledge(item_id, owner)
    assert run_the_scheduled_job(app, at(date(2026, 3, 2), 23)) == (1, 0)  # the owner is told
    owner.active = False  # left the company
    db.session.commit()

    def kinds_for(person: User) -> list[str]:
        query = select(Notification.kind).where(Notification.user_id == person.id)
        return list(db.session.scalars(query))

    items.reply("Any news?", item_id=item_id, sender=sender)
    assert kinds_for(hr) == ["feedback_reply"]
    # answer by Monday 16 March
    assert run_the_scheduled_job(app, at(date(2026, 3, 17), 9)) == (0, 1)
    assert "feedback_overdue" not in kinds_for(manager)
    told = db.session.scalars(
        select(Notification).where(
            Notification.user_id == admin.id, Notification.kind == "feedback_overdue"
        )
    ).one()
    assert told.params["owner"] == "HR"


def test_a_sender_sees_only_their_own_items(app, client):
    sender, colleague = factories.UserFactory(), factories.UserFactory()
    mine = send(sender, subject="Mine").item.id
    theirs = send(colleague, subject="Theirs").item.id
    login(client, sender)
    page = client.get("/feedback").get_data(as_text=True)
    assert "Mine" in page
    assert "Theirs" not in page
    assert client.get(f"/feedback/{mine}").status_code == 200
    assert client.get(f"/feedback/{theirs}").status_code == 404
    assert client.post(f"/feedback/{theirs}/reply", data={"text": "x"}).status_code == 404
    assert client.get("/feedback/follow-up/not-the-secret").status_code == 404


# --- service targets, escalation, answer times ----------------------------------------------

BEFORE_TET = date(2026, 2, 13)  # a Friday; Tết Bính Ngọ's break is 16-20 February


def test_an_overdue_item_escalates_once_to_the_owners_manager_after_tet(app):
    hr = factories.UserFactory(roles={Role.HR})
    manager = factories.UserFactory(roles={Role.MANAGER})
    owner = factories.UserFactory(manager=manager)
    department = factories.DepartmentFactory()
    items.set_desk(department.id, items.DeskData(owner.id, 2, 10), hr)
    with time_machine.travel(at(BEFORE_TET), tick=False):
        item_id = send(factories.UserFactory(), department.id).item.id

    def overdue_notes() -> list[str]:
        rows = db.session.scalars(
            select(Notification)
            .where(Notification.user_id == manager.id, Notification.kind == "feedback_overdue")
            .order_by(Notification.id)
        )
        return [row.params["target"] for row in rows]

    assert run_the_scheduled_job(app, at(BEFORE_TET, 23)) == (1, 0)  # the owner is told
    assert (
        db.session.scalar(select(Notification.kind).where(Notification.user_id == owner.id))
        == "feedback_received"
    )
    # acknowledge by the 2nd working day: Tết and two weekends do not count, so 24/2
    assert run_the_scheduled_job(app, at(date(2026, 2, 24), 9)) == (0, 0)
    assert run_the_scheduled_job(app, at(date(2026, 2, 25), 9)) == (0, 1)
    assert run_the_scheduled_job(app, at(date(2026, 2, 25), 10)) == (0, 0)
    assert overdue_notes() == ["acknowledge"]
    with time_machine.travel(at(date(2026, 2, 26)), tick=False):
        items.acknowledge(item_id, owner)
    # answer by the 10th working day: 6/3
    assert run_the_scheduled_job(app, at(date(2026, 3, 6), 22)) == (0, 0)
    assert run_the_scheduled_job(app, at(date(2026, 3, 9), 9)) == (0, 1)
    assert run_the_scheduled_job(app, at(date(2026, 3, 10), 9)) == (0, 0)
    assert overdue_notes() == ["acknowledge", "answer"]


def test_an_item_never_acknowledged_escalates_again_when_its_answer_target_passes(app):
    """The manager heard once that the item was not acknowledged in time; left untouched
    past its answer-by day too, it was never escalated for the answer target."""
    hr = factories.UserFactory(roles={Role.HR})
    manager = factories.UserFactory(roles={Role.MANAGER})
    owner = factories.UserFactory(manager=manager)
    department = factories.DepartmentFactory()
    items.set_desk(department.id, items.DeskData(owner.id, 2, 10), hr)
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):  # a Monday
        send(factories.UserFactory(), department.id)
    # acknowledge by Wednesday 4 March, answer by Monday 16 March
    assert run_the_scheduled_job(app, at(date(2026, 3, 5), 9)) == (1, 1)
    assert run_the_scheduled_job(app, at(date(2026, 3, 16), 9)) == (0, 0)
    assert run_the_scheduled_job(app, at(date(2026, 3, 17), 9)) == (0, 1)
    assert run_the_scheduled_job(app, at(date(2026, 3, 18), 9)) == (0, 0)
    targets_told = db.session.scalars(
        select(Notification.params)
        .where(Notification.user_id == manager.id, Notification.kind == "feedback_overdue")
        .order_by(Notification.id)
    )
    assert [params["target"] for params in targets_told] == ["acknowledge", "answer"]


def test_a_weekend_after_a_target_day_is_not_late_yet_as_an_answer_given_on_it_is_in_time(app):
    """Targets count working days: an answer given on the Saturday after a Friday answer-by
    day is in time on the answer-times page, but the scheduled job escalated that Saturday,
    and the item was marked late, before anyone could have answered in working time."""
    hr = factories.UserFactory(roles={Role.HR})
    manager = factories.UserFactory(roles={Role.MANAGER})
    owner = factories.UserFactory(manager=manager)
    department = factories.DepartmentFactory()
    items.set_desk(department.id, items.DeskData(owner.id, 4, 9), hr)
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):  # a Monday
        item = send(factories.UserFactory(), department.id).item
    # acknowledge by Friday 6 March, answer by Friday 13 March
    assert run_the_scheduled_job(app, at(date(2026, 3, 2), 23)) == (1, 0)
    assert run_the_scheduled_job(app, at(date(2026, 3, 7), 9)) == (0, 0)
    assert run_the_scheduled_job(app, at(date(2026, 3, 8), 9)) == (0, 0)
    assert run_the_scheduled_job(app, at(date(2026, 3, 9), 9)) == (0, 1)
    saturday, monday = date(2026, 3, 14), date(2026, 3, 16)
    assert run_the_scheduled_job(app, at(saturday, 9)) == (0, 0)
    waiting = db.session.get(FeedbackItem, item.id)
    assert targets.missed_targets(waiting, saturday) == ["acknowledge"]
    assert targets.missed_targets(waiting, monday) == ["acknowledge", "answer"]

    def past_answer_target(today: date) -> int:
        return sum(t.overdue for t in targets.answer_times(date(2026, 3, 1), today))

    assert (past_answer_target(saturday), past_answer_target(monday)) == (0, 1)
    assert run_the_scheduled_job(app, at(monday, 9)) == (0, 1)


def test_hrs_overdue_items_escalate_to_the_administrators(app):
    factories.UserFactory(roles={Role.HR})
    admin = factories.UserFactory(roles={Role.ADMIN})
    with time_machine.travel(at(date(2026, 12, 4)), tick=False):  # a Friday
        send(factories.UserFactory())
    assert run_the_scheduled_job(app, at(date(2026, 12, 9), 9))[1] == 1  # due Tuesday 8/12
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == admin.id))
    assert "feedback_overdue" in list(kinds)
    told = db.session.scalars(
        select(Notification).where(
            Notification.user_id == admin.id, Notification.kind == "feedback_overdue"
        )
    ).one()
    with force_locale("vi"):
        body = render(told.kind, told.params).body
    assert body.startswith("Nhân sự đã quá thời hạn")  # not the English "HR"


def test_the_answer_times_page_counts_working_days_and_shows_no_names(app, client):
    hr = factories.UserFactory(roles={Role.HR}, name="Lê Thị Chủ Trì")
    department = factories.DepartmentFactory(name="Hành chính")
    sender = factories.UserFactory(name="Phạm Văn Người Gửi")
    with time_machine.travel(at(BEFORE_TET), tick=False):
        published = send(sender, department.id, subject="Parking").item.id
        late = send(sender, department.id, subject="Canteen").item.id
    with time_machine.travel(at(date(2026, 2, 23)), tick=False):
        items.acknowledge(published, hr)  # 1 working day
        items.acknowledge(late, hr)
    with time_machine.travel(at(date(2026, 3, 6)), tick=False):
        items.answer(published, hr, "Ten more spaces from April.", publish=True)  # 10: in time
    with time_machine.travel(at(date(2026, 3, 9)), tick=False):
        items.answer(late, hr, "A new menu.")  # 11: late
    with time_machine.travel(at(date(2026, 3, 10)), tick=False):
        login(client, factories.UserFactory())
        page = client.get("/feedback/answer-times", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    row = text[text.index("Hành chính") :]
    assert ">2<" in row.replace(" ", "")  # received
    assert "10.5" in row
    assert "50%" in row
    assert "Ten more spaces from April." in text
    assert "A new menu." not in text
    assert "Phạm Văn Người Gửi" not in text
    assert "Lê Thị Chủ Trì" not in text


def answer_times_row(client, department: str) -> str:  # type: ignore[no-untyped-def]
    """The HTML of ``department``'s row on the answer times page, as an employee reads it in
    English."""
    login(client, factories.UserFactory())
    page = client.get("/feedback/answer-times", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    row = html[html.index(department) :]
    return row[: row.index("</tr>")]


def test_an_item_left_unanswered_past_its_target_counts_against_the_share_in_time(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    department = factories.DepartmentFactory(name="Kho vận")
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        answered = send(sender, department.id, subject="Lockers").item.id
        send(sender, department.id, subject="Forklift")  # never answered
        items.acknowledge(answered, hr)
        items.answer(answered, hr, "New lockers on Friday.")
    # 10 working days from Monday 2 March: answer by Monday 16 March; on the 17th it is late
    with time_machine.travel(at(date(2026, 3, 17)), tick=False):
        row = answer_times_row(client, "Kho vận")
    assert "50%" in row  # one in time, one missed: not 100%
    assert "100%" not in row


def test_declining_an_overdue_item_does_not_turn_a_missed_target_into_a_kept_one(app, client):
    """A month late, the owner declined the item left unanswered: it was then counted neither
    as answered nor as overdue, and the share went from 50% to 100%."""
    hr = factories.UserFactory(roles={Role.HR})
    department = factories.DepartmentFactory(name="Kho vận")
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        answered = send(sender, department.id, subject="Lockers").item.id
        forgotten = send(sender, department.id, subject="Forklift").item.id
        declined_at_once = send(sender, department.id, subject="Parking").item.id
        items.acknowledge(answered, hr)
        items.answer(answered, hr, "New lockers on Friday.")
        items.decline(declined_at_once, hr, "The building's landlord decides it.")
    with time_machine.travel(at(date(2026, 4, 15)), tick=False):
        items.decline(forgotten, hr, "Not ours to change.")
        row = answer_times_row(client, "Kho vận")
    assert "67%" in row  # answered and declined in time; declined a month late: missed


def test_the_answer_times_say_which_targets_the_share_is_measured_against(app, client):
    """HR may set a department's answer target up to 120 working days: an answer after 57
    working days showed as 100% within target, and the page never said against what."""
    hr = factories.UserFactory(roles={Role.HR})
    department = factories.DepartmentFactory(name="Kho vận")
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        send(sender, department.id, subject="Lockers")  # the default target: 10 working days
        items.set_desk(department.id, items.DeskData(None, 60, 120), hr)
        slow = send(sender, department.id, subject="Forklift").item.id
    with time_machine.travel(at(date(2026, 5, 25)), tick=False):
        items.acknowledge(slow, hr)
        items.answer(slow, hr, "A new forklift.")
        row = answer_times_row(client, "Kho vận")
    assert re.search(r'data-testid="answer-target">10–120<', row)


def test_published_answers_are_listed_newest_answer_first(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        slow = send(sender, subject="Slow one").item.id
    with time_machine.travel(at(date(2026, 3, 3)), tick=False):
        quick = send(sender, subject="Quick one").item.id
    with time_machine.travel(at(date(2026, 3, 4)), tick=False):
        items.acknowledge(quick, hr)
        items.answer(quick, hr, "Answered on the 4th.", publish=True)
    with time_machine.travel(at(date(2026, 3, 10)), tick=False):
        items.acknowledge(slow, hr)
        items.answer(slow, hr, "Answered on the 10th.", publish=True)
        login(client, factories.UserFactory())
        page = client.get("/feedback/answer-times").get_data(as_text=True)
    assert page.index("Answered on the 10th.") < page.index("Answered on the 4th.")


def test_hrs_own_row_is_not_confused_with_a_department_called_hr(app, client):
    hr_department = factories.DepartmentFactory(name="Nhân sự")
    sender = factories.UserFactory(locale="vi")
    send(sender, hr_department.id, subject="Payslips")
    send(sender, None, subject="Parking")
    login(client, sender)
    page = client.get("/feedback/answer-times").get_data(as_text=True)
    names = re.findall(r'data-testid="department-times">\s*<td>([^<]*)</td>', page)
    assert sorted(names) == ["Nhân sự", "Nhân sự (mọi chủ đề)"]
    mine = client.get("/feedback").get_data(as_text=True)
    assert "Nhân sự (mọi chủ đề)" in mine


# --- anonymous items ------------------------------------------------------------------------


def _every_row() -> dict[str, set[tuple[Any, ...]]]:
    return {
        table.name: {
            tuple(repr(v) if isinstance(v, dict | list) else v for v in row)
            for row in db.session.execute(select(table))
        }
        for table in db.metadata.sorted_tables
    }


def _written(before: dict[str, set[tuple[Any, ...]]]) -> dict[str, set[tuple[Any, ...]]]:
    db.session.expire_all()
    after = _every_row()
    return {name: rows - before[name] for name, rows in after.items() if rows - before[name]}


def _near(value: Any, moment: datetime, window: timedelta) -> bool:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
        return abs(aware - moment) <= window
    return False


def test_an_anonymous_item_cannot_be_traced_to_its_sender(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory(name="Đỗ Thị Ẩn Danh", email="an.danh@example.com")
    signed_in = at(date(2026, 12, 3), 8)
    submitted = signed_in + timedelta(hours=1, minutes=1)
    with time_machine.travel(signed_in, tick=False):
        login(client, sender)
    with time_machine.travel(submitted - timedelta(minutes=1), tick=False):
        form = client.get("/feedback/new")  # a request like any other (the session is seen)
    assert form.status_code == 200
    # the sender is told before sending that an answer may be published with their words
    assert 'data-testid="publish-note"' in form.get_data(as_text=True)
    before = _every_row()
    with time_machine.travel(submitted, tick=False):
        answer = client.post("/feedback/new", data=ANONYMOUS_OVERTIME)
    assert answer.status_code == 200
    follow_up = follow_up_link(answer.get_data(as_text=True))
    written = _written(before)
    # the submission wrote the item and nothing else: no audit, notification, mail or session
    assert set(written) == {"feedback_item"}
    (row,) = written["feedback_item"]
    item = db.session.scalars(select(FeedbackItem)).one()
    assert item.sender_id is None
    assert item.anonymous
    {sender.id, sender.email, sender.name, str(sender.id)}
    for column, value in zip(FeedbackItem.__table__.columns, row, strict=True):
        if column.foreign_keys and any(
            fk.column.table.name == "user" for fk in column.foreign_keys
        ):
            assert value != sender.id, column.name
        assert not isinstance(value, datetime), column.name  # days only, never a moment
        assert value not in (sender.email, sender.name), column.name
    assert item.follow_up_hash not in follow_up  # only the secret's hash is kept
    # nowhere in the database does anything point from the item to a person or a moment
    for name, rows in _every_row().items():
        for stored in rows:
            if name == "user_session":
                continue  # a signed-in person's last request (before the submission)
            assert not any(_near(v, submitted, timedelta(minutes=30)) for v in stored), name

    # the owner is told the next day, acknowledges and answers; the sender reads it by the link
    run_the_scheduled_job(app, submitted)
    assert db.session.scalar(select(Notification.id)) is None  # not on the day it came
    run_the_scheduled_job(app, submitted + timedelta(days=1))
    told = db.session.scalars(select(Notification)).all()
    assert {n.user_id for n in told} == {hr.id}
    owner = app.test_client()
    login(owner, hr)
    seen = owner.get(f"/feedback/inbox/{item.id}").get_data(as_text=True)
    assert "Overtime is not paid on time." in seen
    assert 'data-testid="feedback-sender"' not in seen
    assert sender.name not in seen
    items.acknowledge(item.id, hr)
    items.answer(item.id, hr, "Paid with this month's wages from now on.")
    assert not db.session.scalars(
        select(Notification).where(Notification.user_id == sender.id)
    ).all()
    login(client, sender)  # a day later: a new session
    page = client.get(follow_up)
    assert page.status_code == 200
    assert "Paid with this month&#39;s wages from now on." in page.get_data(as_text=True)
    before = _every_row()
    assert client.post(f"{follow_up}/reply", data={"text": "Thank you!"}).status_code == 302
    assert client.post(f"{follow_up}/rate", data={"rating": "5"}).status_code == 302
    written = _written(before)
    assert set(written) <= {"feedback_item", "feedback_message"}
    last = db.session.scalars(
        select(FeedbackMessage.author).order_by(FeedbackMessage.number)
    ).all()[-1]
    assert last.value == "sender"
    db.session.expire_all()
    assert db.session.get(FeedbackItem, item.id).rating == 5
    # the sender's own list does not show it: nothing ties it to them
    assert "Overtime" not in client.get("/feedback").get_data(as_text=True)


def test_an_anonymous_items_id_and_place_in_the_inbox_do_not_point_to_its_sender(app, client):
    # named, anonymous, named, one after the other: with ids from a sequence the anonymous item
    # sat, by its URL and in the inbox, exactly between two items "From Nguyễn Văn An"
    hr = factories.UserFactory(roles={Role.HR})
    sales = factories.DepartmentFactory(name="Kinh doanh")
    owner = factories.UserFactory(roles={Role.MANAGER})
    items.set_desk(sales.id, items.DeskData(owner.id, 2, 10), hr)
    sender = factories.UserFactory(name="Nguyễn Văn An")
    before = send(sender, sales.id, subject="Bonus dates").item.id
    opened = send(sender, sales.id, subject="A quota nobody meets", anonymous=True)
    hidden = opened.item.id
    after = send(sender, sales.id, subject="Commission report").item.id
    more = [send(sender, sales.id, subject=f"Idea {n}").item.id for n in range(9)]

    # ids (in URLs, the audit log) carry no order: none follows another, and a dozen items
    # sent in a row do not get increasing ids (1 chance in 12! that random ones would)
    sent = [before, hidden, after, *more]
    assert hidden not in (before + 1, after - 1)
    assert sent != sorted(sent)
    # the inbox lists one day's items by subject, whatever the order they came in
    login(client, owner)
    page = client.get("/feedback/inbox").get_data(as_text=True)
    subjects = ["A quota nobody meets", "Bonus dates", "Commission report"]
    assert [page.index(s) for s in subjects] == sorted(page.index(s) for s in subjects)
    assert [i.subject for i in items.inbox(owner)] == sorted(i.subject for i in items.inbox(owner))
    assert f"/feedback/inbox/{hidden}" in page
    assert client.get(f"/feedback/inbox/{hidden}").status_code == 200

    # the sender's own list: their named items only, by day and subject; the anonymous item
    # is still theirs to follow through its private link
    own = app.test_client()
    login(own, sender)
    mine = own.get("/feedback").get_data(as_text=True)
    assert "Bonus dates" in mine
    assert "A quota nobody meets" not in mine
    assert mine.index("Bonus dates") < mine.index("Commission report")
    follow_up = own.get(f"/feedback/follow-up/{opened.follow_up_secret}")
    assert follow_up.status_code == 200
    assert "A quota nobody meets" in follow_up.get_data(as_text=True)


# --- the pages ------------------------------------------------------------------------------


def test_a_refused_reply_or_rating_comes_back_on_the_senders_page_in_their_language(app):
    # a reply of only spaces, or no or an unknown star rating, gave a bare "Bad request" page
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory(locale="vi")
    named = send(sender, subject="Printer").item.id
    opened = send(sender, subject="Canteen", anonymous=True)
    for item_id in (named, opened.item.id):
        items.acknowledge(item_id, hr)
        items.answer(item_id, hr, "New toner.")
    client = app.test_client()
    login(client, sender)
    long_text = "Still jammed. " * 300  # over the 4000 characters a message holds
    for page, subject in (
        (f"/feedback/{named}", "Printer"),
        (f"/feedback/follow-up/{opened.follow_up_secret}", "Canteen"),
    ):
        refused = client.post(f"{page}/reply", data={"text": "   "})
        assert refused.status_code == 400
        text = refused.get_data(as_text=True)
        assert subject in text
        assert "Trường này là bắt buộc." in text
        refused = client.post(f"{page}/reply", data={"text": long_text})
        assert refused.status_code == 400
        assert long_text.strip() in refused.get_data(as_text=True)  # the typed text is kept
        for data, error in (({}, "Hãy chọn từ 1 đến 5 sao."), ({"rating": "9"}, "không hợp lệ")):
            refused = client.post(f"{page}/rate", data=data)
            assert refused.status_code == 400
            rating_form = refused.get_data(as_text=True).split('data-testid="rating-form"')[1]
            assert error in rating_form.split("</form>")[0]
    db.session.expire_all()
    for item_id in (named, opened.item.id):
        item = db.session.get(FeedbackItem, item_id)
        assert (item.status, item.rating, len(item.messages)) == (S.ANSWERED, None, 1)


def test_hr_sets_a_departments_owner_and_targets_and_it_is_audited(app, client):
    from perks.audit import AuditEvent
    from perks.feedback.models import FeedbackDesk

    hr = factories.UserFactory(roles={Role.HR})
    owner = factories.UserFactory(name="Vũ Thị Phụ Trách")
    department = factories.DepartmentFactory()
    login(client, hr)
    url = f"/manage/feedback/{department.id}"
    shown = items.shown_desk_fingerprint(None)
    refused = client.post(
        url, data={"owner": owner.id, "acknowledge_days": 5, "answer_days": 3, "shown": shown}
    )
    assert refused.status_code == 400  # acknowledging cannot take longer than answering
    saved = client.post(
        url, data={"owner": owner.id, "acknowledge_days": 3, "answer_days": 15, "shown": shown}
    )
    assert saved.status_code == 302
    desk = db.session.get(FeedbackDesk, department.id)
    assert (desk.owner_id, desk.acknowledge_days, desk.answer_days) == (owner.id, 3, 15)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("feedback.%"))).one()
    assert event.details["changes"]["owner_id"] == [None, owner.id]
    assert "Vũ Thị Phụ Trách" in client.get("/manage/feedback").get_data(as_text=True)
    admin = app.test_client()
    login(admin, factories.UserFactory(roles={Role.ADMIN}, locale="en"))
    audit_page = " ".join(admin.get("/admin/audit").get_data(as_text=True).split())
    assert f'data-label="Target">Feedback desk #{department.id}</td>' in audit_page
    assert "Owner: none → Vũ Thị Phụ Trách" in audit_page
    assert "Acknowledge within (working days): 2 → 3" in audit_page
    assert "owner_id" not in audit_page
    item = send(factories.UserFactory(), department.id).item
    assert (item.owner_id, item.acknowledge_days, item.answer_days) == (owner.id, 3, 15)


def test_the_owners_page_says_hr_answers_a_department_whose_owner_left(app, client, vietnamese):
    """New feedback to a department whose owner has left goes to HR, but HR's page of owners
    still named the leaver as its owner."""
    hr = factories.UserFactory(roles={Role.HR}, locale="vi")
    owner = factories.UserFactory(name="Vũ Thị Phụ Trách")
    department = factories.DepartmentFactory(name="Kho vận")
    items.set_desk(department.id, items.DeskData(owner.id, 2, 10), hr)
    owner.active = False  # left the company
    db.session.commit()
    login(client, hr)
    page = client.get("/manage/feedback").get_data(as_text=True)
    row = page[page.index("Kho vận") :]
    row = row[: row.index("</tr>")]
    assert vietnamese("HR (%(name)s has left)", name="Vũ Thị Phụ Trách") in row
    assert send(factories.UserFactory(), department.id).item.owner_id is None


def test_the_owner_is_not_told_an_anonymous_sender_is_notified(app, client):
    hr = factories.UserFactory(roles={Role.HR}, locale="en")
    named = send(factories.UserFactory(), subject="Named").item.id
    anonymous = send(factories.UserFactory(), anonymous=True, subject="Hidden").item.id
    login(client, hr)
    page = client.post(f"/feedback/inbox/{named}/acknowledge", follow_redirects=True)
    assert "Saved. The sender is told." in page.get_data(as_text=True)
    page = client.post(f"/feedback/inbox/{anonymous}/acknowledge", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "The sender is told." not in text
    assert "private follow-up page" in text


def test_an_anonymous_senders_reply_to_an_answer_shows_and_can_be_answered(app, client):
    hr = factories.UserFactory(roles={Role.HR}, locale="en")
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        opened = send(factories.UserFactory(), anonymous=True, subject="Canteen")
        items.acknowledge(opened.item.id, hr)
        items.answer(opened.item.id, hr, "A new menu from April.", publish=True)
    with time_machine.travel(at(date(2026, 3, 4)), tick=False):
        items.reply("April is too late: can it be March?", secret=opened.follow_up_secret)
        login(client, hr)
        inbox = client.get("/feedback/inbox").get_data(as_text=True)
        row = inbox[inbox.index("Canteen") :].split("</tr>")[0]
        assert 'data-testid="replied"' in row  # no notification can say it: the list does
        page = client.get(f"/feedback/inbox/{opened.item.id}").get_data(as_text=True)
        assert 'data-testid="answer-form"' in page
        answered = client.post(
            f"/feedback/inbox/{opened.item.id}/answer", data={"text": "Yes, from 16 March."}
        )
        assert answered.status_code == 302
    db.session.expire_all()
    item = db.session.get(FeedbackItem, opened.item.id)
    assert item.status is S.ANSWERED
    assert item.answered_on == date(2026, 3, 2)  # the target was met by the first answer
    assert item.published  # a later answer does not unpublish
    assert [m.text for m in item.messages][-1] == "Yes, from 16 March."
    seen = items.followed_item(opened.follow_up_secret)
    assert "Yes, from 16 March." in [m.text for m in seen.messages]
    with time_machine.travel(at(date(2026, 3, 4)), tick=False):
        inbox = client.get("/feedback/inbox").get_data(as_text=True)
    assert 'data-testid="replied"' not in inbox[inbox.index("Canteen") :].split("</tr>")[0]


def test_a_text_at_its_limit_with_line_breaks_is_taken_as_the_browser_counted_it(app, client):
    """A browser counts a line break as one character against a text area's maxlength, but
    sends it as two (CRLF): a text the browser let through at the limit was refused as too
    long, and what was taken kept CRLFs."""
    factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    login(client, sender)
    paragraphs = ["x" * 999] * 4  # 3,996 characters and three line breaks: 3,999
    sent = client.post(
        "/feedback/new",
        data={
            "department": "0",
            "topic": "tool",
            "subject": "Long",
            "text": "\r\n".join(paragraphs),
        },
    )

    assert sent.status_code == 302, sent.get_data(as_text=True)
    item = db.session.scalar(select(FeedbackItem).where(FeedbackItem.subject == "Long"))
    assert item.text == "\n".join(paragraphs)


def test_a_named_sender_and_the_owner_go_through_the_pages(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    login(client, sender)
    sent = client.post(
        "/feedback/new",
        data={"department": "0", "topic": "tool", "subject": "Printer", "text": "Jammed."},
    )
    assert sent.status_code == 302
    item_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    assert (
        client.post("/feedback/new", data={"department": "0", "topic": "tool"}).status_code == 400
    )

    owner = app.test_client()
    login(owner, hr)
    assert "Printer" in owner.get("/feedback/inbox").get_data(as_text=True)
    # a named item: its owner sees who sent it, to follow up
    seen = owner.get(f"/feedback/inbox/{item_id}").get_data(as_text=True)
    assert f"{sender.name} ({sender.email})" in seen
    # a decline without its reason comes back on the item's page, saying why
    refused = owner.post(f"/feedback/inbox/{item_id}/decline", data={"reason": "  "})
    assert refused.status_code == 400
    assert "Printer" in refused.get_data(as_text=True)
    assert "This field is required." in refused.get_data(as_text=True)
    for step in ("acknowledge", "start"):
        assert owner.post(f"/feedback/inbox/{item_id}/{step}").status_code == 302
    refused = owner.post(f"/feedback/inbox/{item_id}/answer", data={"text": ""})
    assert refused.status_code == 400
    assert "This field is required." in refused.get_data(as_text=True)
    owner.post(f"/feedback/inbox/{item_id}/answer", data={"text": "New toner.", "publish": "y"})
    # a step the item is past: told on the page, nothing changes
    page = owner.post(f"/feedback/inbox/{item_id}/acknowledge", follow_redirects=True)
    assert "cannot be moved that way" in page.get_data(as_text=True)

    page = client.get(f"/feedback/{item_id}").get_data(as_text=True)
    assert "New toner." in page
    assert 'data-testid="rating-form"' in page
    form = client.get(f"/feedback/{item_id}").get_data(as_text=True)
    rating_form = form.split('data-testid="rating-form"')[1].split("</form>")[0]
    assert 'type="radio"' in rating_form  # with words a screen reader says, none chosen
    assert "checked" not in rating_form
    assert "2 stars" in rating_form
    assert client.post(f"/feedback/{item_id}/rate", data={}).status_code == 400
    assert client.post(f"/feedback/{item_id}/rate", data={"rating": "2"}).status_code == 302
    db.session.expire_all()
    item = db.session.get(FeedbackItem, item_id)
    assert (item.status, item.rating, item.published) == (S.CLOSED, 2, True)


def test_an_anonymous_sending_leaves_the_senders_session_unwritten(app, client):
    """A session not seen for five minutes is written after the request's own work, in the
    next transaction: beside an anonymous item, at the moment it came. Not for these."""
    sender = factories.UserFactory()
    signed_in = at(date(2026, 12, 3), 8)
    with time_machine.travel(signed_in, tick=False):
        login(client, sender)
    before = _every_row()
    with time_machine.travel(signed_in + timedelta(minutes=20), tick=False):
        answer = client.post("/feedback/new", data=ANONYMOUS_OVERTIME)
    assert answer.status_code == 200
    assert set(_written(before)) == {"feedback_item"}
    follow_up = follow_up_link(answer.get_data(as_text=True))
    before = _every_row()
    with time_machine.travel(signed_in + timedelta(minutes=40), tick=False):
        replied = client.post(f"{follow_up}/reply", data={"text": "More: since May."})
    assert replied.status_code == 302
    assert set(_written(before)) == {"feedback_message"}  # the reply, and no session
    # a named sending is a request like any other: the session is seen
    before = _every_row()
    with time_machine.travel(signed_in + timedelta(minutes=60), tick=False):
        named = client.post(
            "/feedback/new",
            data={"department": "0", "topic": "tool", "subject": "Wi-Fi", "text": "Slow."},
        )
    assert named.status_code == 302
    assert "user_session" in _written(before)


def test_the_request_after_an_anonymous_one_leaves_the_session_unwritten_too(app, client):
    """The browser follows a reply's redirect at once, and the sender opens their follow-up
    link seconds after sending: a session due then was written at the moment the anonymous
    row came, in the next transaction but one. It is written once five minutes have passed."""
    sender = factories.UserFactory()
    signed_in = at(date(2026, 12, 3), 8)
    with time_machine.travel(signed_in, tick=False):
        login(client, sender)
    sent_at = signed_in + timedelta(minutes=20)
    with time_machine.travel(sent_at, tick=False):
        answer = client.post("/feedback/new", data=ANONYMOUS_OVERTIME)
    follow_up = follow_up_link(answer.get_data(as_text=True))
    before = _every_row()
    with time_machine.travel(sent_at + timedelta(seconds=3), tick=False):
        assert client.get(follow_up).status_code == 200  # "Open it now"
    assert "user_session" not in _written(before)
    replied_at = sent_at + timedelta(minutes=20)
    with time_machine.travel(replied_at, tick=False):
        replied = client.post(f"{follow_up}/reply", data={"text": "More: since May."})
    assert replied.status_code == 302
    before = _every_row()
    with time_machine.travel(replied_at + timedelta(seconds=1), tick=False):
        assert client.get(replied.headers["Location"]).status_code == 200
        assert client.get("/feedback").status_code == 200
    assert "user_session" not in _written(before)
    # five minutes on, the person's requests are seen again
    later = replied_at + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert client.get("/feedback").status_code == 200
    seen = db.session.scalars(select(UserSession.last_seen_at)).one()
    assert _near(seen, later, timedelta(0))


def test_on_postgresql_the_rows_of_a_day_lie_in_no_order_and_share_one_writer(app):
    """A table's rows lie in the order they were written (``ctid``: a ``SELECT`` without
    ``ORDER BY``, a dump) with the transaction that wrote them (``xmin``): an anonymous item
    lay between the named items sent before and after it."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("ctid and xmin are PostgreSQL's; on SQLite the random id is the row's place")
    sender = factories.UserFactory(name="Nguyễn Văn An")
    sent = [send(sender, None, subject=f"Idea {n}", anonymous=n == 4).item.id for n in range(10)]
    rows = db.session.execute(text("SELECT id, xmin::text FROM feedback_item ORDER BY ctid")).all()
    assert len({writer for _id, writer in rows}) == 1
    # in the order they came, 1 chance in 10! that a random order is it
    assert [item_id for item_id, _writer in rows] != sent


def test_items_sent_at_once_on_postgresql_queue_and_all_arrive(app):
    """Each sending writes the day's items again in a random order: two at once would
    deadlock, each holding a row the other wants, unless they lock in one order first."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("writers at the same moment need PostgreSQL (row locks); SQLite serialises")
    senders = [factories.UserFactory().id for _ in range(6)]
    for n in range(4):  # items already in of the day
        send(db.session.get(User, senders[0]), subject=f"Earlier {n}")
    db.session.remove()

    def send_one(n: int) -> None:
        send(db.session.get(User, senders[n]), subject=f"At once {n}", anonymous=n % 2 == 0)

    outcome = all_at_once(app, range(6), send_one)
    assert outcome.errors == []
    assert outcome.answers == Counter(ok=6)
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 10


def test_the_inbox_lists_a_days_subjects_as_people_alphabetise_vietnamese(app, client):
    """A day's items were listed by subject code point: "Ăn trưa" and "Đồng phục" came after
    "Zalo nhóm", where a reader looks for them among the As and the Ds."""
    hr = factories.UserFactory(roles={Role.HR})
    sales = factories.DepartmentFactory(name="Kinh doanh")
    owner = factories.UserFactory(roles={Role.MANAGER})
    items.set_desk(sales.id, items.DeskData(owner.id, 2, 10), hr)
    sender = factories.UserFactory()
    for subject in ("Zalo nhóm", "Đồng phục", "bãi đỗ xe", "Ăn trưa"):
        send(sender, sales.id, subject=subject)

    expected = ["Ăn trưa", "bãi đỗ xe", "Đồng phục", "Zalo nhóm"]
    assert [i.subject for i in items.inbox(owner)] == expected
    assert [i.subject for i in items.sent_by(sender)] == expected
    login(client, owner)
    page = client.get("/feedback/inbox").get_data(as_text=True)
    assert [page.index(s) for s in expected] == sorted(page.index(s) for s in expected)


def test_a_sweep_and_sendings_at_once_on_postgresql_do_not_deadlock(app):
    """The hourly sweep claims items in the list's order (day, subject), a sending locks its
    day's items in id order: the sweep locks in id order first, or each could wait for the
    other."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("writers at the same moment need PostgreSQL (row locks); SQLite serialises")
    senders = [factories.UserFactory().id for _ in range(6)]
    for n in range(12):  # named items of today, waiting for their owner to be told
        send(db.session.get(User, senders[0]), subject=f"{chr(ord('Z') - n)} item")
    db.session.remove()

    def act(n: int) -> None:
        if n == 0:
            targets.sweep(company_today())
        else:
            send(db.session.get(User, senders[n]), subject=f"At once {n}")

    for _ in range(3):
        outcome = all_at_once(app, range(6), act)
        assert outcome.errors == []


def test_a_conversation_is_read_in_order_though_its_messages_ids_carry_none(app):
    """Replies took their ids from one counter: an anonymous sender's reply lay between the
    owners' answers on other items written just before and after it."""
    hr = factories.UserFactory(roles={Role.HR})
    named = send(factories.UserFactory(), subject="Named").item.id
    opened = send(factories.UserFactory(), subject="Anonymous", anonymous=True)
    for item_id in (named, opened.item.id):
        items.acknowledge(item_id, hr)
    items.answer(named, hr, "First answer")
    items.answer(opened.item.id, hr, "Answer to the anonymous one")
    items.reply("A reply, anonymously", secret=opened.follow_up_secret)
    items.answer(named, hr, "Second answer")
    items.answer(opened.item.id, hr, "Second answer to the anonymous one")

    db.session.expire_all()
    conversation = db.session.get(FeedbackItem, opened.item.id).messages
    assert [(m.number, m.text) for m in conversation] == [
        (1, "Answer to the anonymous one"),
        (2, "A reply, anonymously"),
        (3, "Second answer to the anonymous one"),
    ]
    ids = sorted(m.id for m in db.session.scalars(select(FeedbackMessage)))
    assert ids[0] >= 1_000_000  # drawn, not counted: none follows another
    assert all(later - earlier > 1 for earlier, later in pairwise(ids))


def test_items_never_acknowledged_count_in_the_median_with_the_days_they_have_waited(app, client):
    """A department that acknowledged one item of three the next day, and never the other
    two, showed a median of 1 day to acknowledge."""
    hr = factories.UserFactory(roles={Role.HR})
    department = factories.DepartmentFactory(name="Kho vận")
    sender = factories.UserFactory()
    with time_machine.travel(at(date(2026, 3, 2)), tick=False):
        quick = send(sender, department.id, subject="Lockers").item.id
        send(sender, department.id, subject="Forklift")
        send(sender, department.id, subject="Loading bay")
    with time_machine.travel(at(date(2026, 3, 3)), tick=False):
        items.acknowledge(quick, hr)
        items.answer(quick, hr, "New lockers on Friday.")
    # Monday 2 March to Monday 16 March: 10 working days waited
    with time_machine.travel(at(date(2026, 3, 16)), tick=False):
        row = answer_times_row(client, "Kho vận")
    assert text_of_html(row, "median-acknowledge") == "at least 10"
    assert text_of_html(row, "median-answer") == "at least 10"
    # once the two are acknowledged on the 4th, the median is exact: 1, 2, 2
    with time_machine.travel(at(date(2026, 3, 4)), tick=False):
        for item in db.session.scalars(select(FeedbackItem).where(FeedbackItem.id != quick)):
            items.acknowledge(item.id, hr)
    with time_machine.travel(at(date(2026, 3, 16)), tick=False):
        row = answer_times_row(client, "Kho vận")
    assert text_of_html(row, "median-acknowledge") == "2"


def text_of_html(row: str, testid: str) -> str:
    cell = row[row.index(f'data-testid="{testid}"') :]
    return cell[cell.index(">") + 1 : cell.index("</td>")].strip()


def test_a_reply_refused_because_the_item_closed_meanwhile_keeps_what_was_typed(app):
    """The owner closed (or declined) the item while the sender typed a reply: the sender
    got "This feedback is closed: send a new one instead." over the item's page, their text
    gone and no way to send a new one from there. Now the new-feedback form comes back with
    the message, the item's department, topic and subject, and their text; anonymous
    still for an anonymous item."""
    hr = factories.UserFactory(roles={Role.HR})
    sender = factories.UserFactory()
    named = send(sender, subject="Printer").item.id
    opened = send(sender, subject="Canteen", anonymous=True)
    for item_id in (named, opened.item.id):
        items.acknowledge(item_id, hr)
        items.decline(item_id, hr, "Out of our hands.")
    client = app.test_client()
    login(client, sender)
    typed = "Then who can fix it? It jams every morning."
    for page, subject, anonymous in (
        (f"/feedback/{named}", "Printer", False),
        (f"/feedback/follow-up/{opened.follow_up_secret}", "Canteen", True),
    ):
        refused = client.post(f"{page}/reply", data={"text": typed})
        assert refused.status_code == 409
        html = refused.get_data(as_text=True)
        assert "This feedback is closed: send a new one instead." in html
        assert 'action="/feedback/new"' in html
        assert typed in html
        assert f'value="{subject}"' in html
        checkbox = re.search(r"<input[^>]*name=\"anonymous\"[^>]*>", html)
        assert checkbox is not None
        assert ("checked" in checkbox.group(0)) is anonymous
    db.session.expire_all()
    for item_id in (named, opened.item.id):
        assert len(db.session.get(FeedbackItem, item_id).messages) == 0
