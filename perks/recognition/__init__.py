"""Recognition: the occasions a company celebrates, the gifts and awards that go with them
(kudos to come).

* ``lunar``: Vietnam's lunar calendar (âm lịch), the solar date of a lunar one and back;
* ``models``: the company's occasions (solar, lunar, personal) and its recognition settings;
* ``services``: the occasions' next dates, personal ones per person; HR's changes, audited;
* ``gifts``: gift programmes, their budgets and the granting job;
* ``awards``: HR's awards, managers' nominations, HR's approvals granting gift and points;
* ``fairness``: HR's fairness report (small groups merged);
* ``forms``, ``views``: HR's pages, managers' nominations, everyone's calendar and awards.

It sits above ``perks.catalog`` (a gift will be a claim) and reads people from
``perks.people``; nothing below imports it.
"""
