"""The demo company's surveys (``perks.demo``): two closed quarterly surveys with eNPS by
department (a trend of two points), an open pulse survey and a draft, through the services the pages
use, the quarterly ones then dated in their quarters."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from perks.db import transaction
from perks.extensions import db
from perks.feedback import surveys
from perks.feedback.surveys import QuestionData, SurveyData
from perks.feedback.surveys_models import QuestionKind, Survey
from perks.feedback.working_days import add_working_days, is_working_day
from perks.people.models import Role, User

_COMMENTS = (
    "Mong có thêm chỗ để xe máy.",
    "Nhóm làm việc rất ăn ý, cảm ơn mọi người!",
    "Căng tin nên có thêm món chay.",
    "Cần quy trình phê duyệt nhanh hơn.",
    "Rất thích chương trình quà Tết năm nay.",
)


def _quarters_before(today: date, count: int) -> list[tuple[int, int]]:
    """The ``count`` quarters before the one of ``today``, oldest first: (year, quarter)."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    found: list[tuple[int, int]] = []
    for _ in range(count):
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
        found.append((year, quarter))
    return found[::-1]


def _quarterly(hr: User, year: int, quarter: int) -> Survey:
    survey = surveys.create_survey(
        SurveyData(
            f"Khảo sát gắn kết quý {quarter}/{year}",
            f"Engagement survey, Q{quarter} {year}",
            "Ẩn danh: không ai biết câu trả lời của bạn.",
            "Anonymous: nobody sees who answered what.",
        ),
        actor=hr,
    )
    for question in (
        QuestionData(
            QuestionKind.NPS,
            "Bạn có giới thiệu công ty là nơi làm việc tốt cho bạn bè không?",
            "How likely are you to recommend the company as a place to work?",
        ),
        QuestionData(
            QuestionKind.SCALE, "Bạn hài lòng với phúc lợi?", "How happy are you with the perks?"
        ),
        QuestionData(
            QuestionKind.SINGLE,
            "Bạn muốn làm từ xa bao nhiêu ngày mỗi tuần?",
            "How many days a week would you work remotely?",
            (("Không ngày nào", "None"), ("1–2 ngày", "1–2 days"), ("3 ngày trở lên", "3 or more")),
        ),
        QuestionData(QuestionKind.TEXT, "Góp ý khác", "Anything else?"),
    ):
        surveys.add_question(survey.id, question, actor=hr)
    return surveys.open_survey(survey.id, actor=hr)


def seed_demo_surveys(*, today: date) -> None:
    """The surveys of the two quarters before ``today``'s, answered by most people and closed
    (results by department where enough answered), each opened on the first working day of
    its quarter's last month and closed two weeks later; an open pulse survey the demo people
    have not answered, and a draft."""
    rng = random.Random(2028)
    people = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    hr = next(p for p in people if Role.HR in p.roles)
    for mood, (year, quarter) in enumerate(_quarters_before(today, 2)):
        opened = date(year, quarter * 3, 1)
        while not is_working_day(opened):
            opened += timedelta(days=1)
        survey = _quarterly(hr, year, quarter)
        nps, scale, remote, comments = (q.id for q in survey.questions)
        for person in people:
            if person.email.split("@")[0] in {"nhanvien", "quanly"} or rng.random() < 0.05:
                continue
            if person.hire_date is not None and person.hire_date > opened:
                continue  # not there yet
            base = 7 + mood + (person.department_id or 0) % 3 - 1
            answers: dict[int, object] = {
                nps: max(0, min(10, base + rng.randint(-2, 2))),
                scale: rng.randint(2, 5),
                remote: rng.randint(0, 2),
            }
            if rng.random() < 0.15:
                answers[comments] = rng.choice(_COMMENTS)
            surveys.answer(survey.id, answers, person)
        surveys.close_survey(survey.id, actor=hr)
        with transaction():  # only its dates move: answers keep no date
            survey.opened_on, survey.closed_on = opened, add_working_days(opened, 10)
    pulse = surveys.create_survey(SurveyData("Khảo sát nhanh tháng 12", "December pulse"), actor=hr)
    surveys.add_question(
        pulse.id,
        QuestionData(QuestionKind.SCALE, "Tuần này bạn thấy thế nào?", "How was your week?"),
        actor=hr,
    )
    surveys.open_survey(pulse.id, actor=hr)
    draft = surveys.create_survey(
        SurveyData("Khảo sát môi trường làm việc 2027", "Workplace survey 2027"), actor=hr
    )
    surveys.add_question(
        draft.id,
        QuestionData(QuestionKind.TEXT, "Điều gì nên thay đổi?", "What should change?"),
        actor=hr,
    )
