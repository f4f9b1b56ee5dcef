"""Demo data of the operating chain's commissions: a partner and a contractor with their links
and a rule for each, a named group, a tiered rule, and returning customers kept for 30 days.

Self-contained: ``seed_demo_chain_rules`` runs after finance's demo rules
(``perks.demo_activity.seed_demo_rules``) and before the demo's orders, so the orders earn by
these rules too. It changes nothing when its group already exists.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from perks.extensions import db
from perks.people.models import EmploymentType, Role, User

#: the demo's named group
GROUP_NAME = "Đối tác tour miền Trung"


def _first(kind: EmploymentType) -> User | None:
    return db.session.scalar(
        select(User)
        .where(User.employment_type == kind, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def seed_demo_chain_rules(today: date, history_days: int) -> None:
    """Partners earn 6 % on everything and the named group of partners 7 %; contractors 4 %;
    staff have a tiered rule (3 %, 4 % from the 5th line of the month, 5 % from the 10th);
    returning customers stay 30 days at the rules' own rates. Each through finance's services
    (audited, versioned), from before the demo's first order."""
    from perks.commissions import groups
    from perks.commissions.models import (
        CommissionGroup,
        RuleAudience,
        RuleKind,
        RuleScope,
        TierMeasure,
    )
    from perks.commissions.services import RuleData, TierData, create_rule
    from perks.referrals.models import ReferralLink
    from perks.referrals.returning import save_policy
    from perks.referrals.services import ensure_default_links

    if db.session.scalar(select(CommissionGroup.id).where(CommissionGroup.name == GROUP_NAME)):
        return
    finance = next(
        (
            person
            for person in db.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.id)
            )
            if person.has_role(Role.FINANCE)
        ),
        None,
    )
    partner, contractor = _first(EmploymentType.PARTNER), _first(EmploymentType.CONTRACTOR)
    if finance is None or partner is None or contractor is None:
        return
    ensure_default_links()
    assert db.session.scalar(select(ReferralLink.id).where(ReferralLink.user_id == partner.id))
    start = today - timedelta(days=history_days + 14)
    group = groups.create_group(GROUP_NAME, "Đà Nẵng, Huế, Hội An", actor=finance)
    groups.add_member(group.id, partner.id, actor=finance)
    percent = RuleKind.PERCENT
    everything = RuleScope.DEFAULT
    for data in (
        RuleData(
            everything,
            percent,
            start,
            rate_bps=600,
            audience=RuleAudience.EMPLOYMENT_TYPE,
            employment_type=EmploymentType.PARTNER,
            note="Đối tác: 6 %",
        ),
        RuleData(
            everything,
            percent,
            start,
            rate_bps=700,
            audience=RuleAudience.GROUP,
            group_id=group.id,
            note="Đối tác tour miền Trung: 7 %",
        ),
        RuleData(
            everything,
            percent,
            start,
            rate_bps=400,
            audience=RuleAudience.EMPLOYMENT_TYPE,
            employment_type=EmploymentType.CONTRACTOR,
            note="Cộng tác viên: 4 %",
        ),
        RuleData(
            everything,
            percent,
            start,
            rate_bps=300,
            audience=RuleAudience.EMPLOYMENT_TYPE,
            employment_type=EmploymentType.STAFF,
            tier_measure=TierMeasure.COUNT,
            tiers=(TierData(5, rate_bps=400), TierData(10, rate_bps=500)),
            note="Nhân viên: 3 %, bậc 4 % từ dòng thứ 5 và 5 % từ dòng thứ 10 trong tháng",
        ),
    ):
        create_rule(data, actor=finance)
    save_policy(30, None, actor=finance)
