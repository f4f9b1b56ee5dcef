"""A manager's team on their home page: the people who report to them, each with the perks
they used and what their referral links brought (clicks, orders, commissions earned) over
the last ``TEAM_DAYS`` days.

The figures come from the capabilities' own grouped queries (the team stats page's people
and figures, ``perks.referrals.stats.team_people``; claims used; commissions earned): five
statements whatever the size of the team, and two for whom they may nominate.
"""

from __future__ import annotations

from dataclasses import dataclass

from perks.catalog.queries import perks_used_by
from perks.commissions.queries import earned_by
from perks.money import Money
from perks.people.models import User
from perks.recognition import awards
from perks.referrals.periods import window_from_args
from perks.referrals.stats import PersonRow, team_people

#: the days the home page's team figures cover (the team stats page's shortest window)
TEAM_DAYS = 30


@dataclass(frozen=True)
class TeamMember:
    person: PersonRow
    #: claims they used in the window
    perks_used: int
    #: commissions they earned in the window, one amount per currency
    earned: list[Money]
    #: whether the nomination form takes them (``awards.team``: active, started, not yet left) and
    #: an award takes nominations
    may_nominate: bool


@dataclass(frozen=True)
class Team:
    days: int
    members: list[TeamMember]


def team_of(manager: User) -> Team:
    """``manager``'s direct reports (active or not), by name, with their figures over the
    last ``TEAM_DAYS`` days (today included, company time)."""
    window = window_from_args(None, str(TEAM_DAYS), choices=(TEAM_DAYS,))
    people = team_people(manager, window)
    ids = [row.user_id for row in people]
    used = perks_used_by(ids, window.start, window.end)
    earned = earned_by(ids, window.start, window.end)
    # whom the nomination form takes, while an award takes nominations
    nominable = (
        {person.id for person in awards.team(manager)} if awards.awards(active_only=True) else set()
    )
    return Team(
        TEAM_DAYS,
        [
            TeamMember(
                row,
                used.get(row.user_id, 0),
                earned.get(row.user_id, []),
                row.user_id in nominable,
            )
            for row in people
        ],
    )
