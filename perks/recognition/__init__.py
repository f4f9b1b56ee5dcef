"""Recognition: the occasions a company celebrates, and (to come) the gifts, kudos and
awards that go with them.

* ``lunar``: Vietnam's lunar calendar (âm lịch), the solar date of a lunar one and back;
* ``models``: the company's occasions (solar, lunar, personal) and its recognition settings;
* ``services``: the occasions' next dates, personal ones per person; HR's changes, audited;
* ``forms``, ``views``: HR's occasions page and everyone's calendar.

It sits above ``perks.catalog`` (a gift will be a claim) and reads people from
``perks.people``; nothing below imports it.
"""
