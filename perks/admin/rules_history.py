"""The public rules history: every version of each perk's rules, commission rule and gift
programme, and of finance's commission policies (``perks.rule_history``) and withholding
rates, written for the reader, without who changed them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from flask_babel import lazy_gettext as _l

from perks import rule_history
from perks.admin.audit_details import EMPTY_TERMS, Detail, readable_changes, readable_terms
from perks.catalog.models import PerkStatus
from perks.commissions import tax
from perks.commissions.models import RuleScope
from perks.commissions.tax_models import WithholdingRate
from perks.folding import name_order

#: what each version's heading already says, left out of its terms
HEADING_FIELDS = ("name", "scope", "target", "version")


#: what a section's reader should know first, by its key
NOTES = {
    rule_history.COMMISSION_RULE: _l(
        "A commission names the version of the rule it earned by (v2). A version changed "
        "before any order earned by it, or given a last day, reads “amended”."
    ),
}


@dataclass(frozen=True)
class ShownVersion:
    version: rule_history.Version
    #: the first version's terms in full
    terms: list[Detail]
    #: a later version's changes: (name, before, after)
    changes: list[tuple[str, str, str]]
    #: the number its heading gives: a commission rule's own version, as each commission
    #: names it ("v2"), otherwise the history's
    number: int
    #: a commission rule changed without a new version of its own (before any order earned
    #: by it, or its last day set)
    amended: bool = False


@dataclass(frozen=True)
class ShownRule:
    subject_id: int
    title: str
    #: newest first
    versions: list[ShownVersion]


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    rules: list[ShownRule]
    #: what the section is about, when its title does not say it all
    note: Any = None


def _title(subject: str, terms: Mapping[str, Any]) -> str:
    if subject == rule_history.COMMISSION_RULE:
        scope = RuleScope(terms["scope"]).label
        if not terms.get("target"):
            return str(scope)
        return f"{scope}: {readable_terms({'target': terms['target']})[0].value}"
    return readable_terms({"name": terms.get("name")})[0].value


def _first_terms(terms: Mapping[str, Any]) -> list[Detail]:
    """A rule's first version in full, without the terms it does not use (a percentage
    rule's flat amount, the tiers of a rule without any): those with nothing in them, unless
    nothing means something ("no end", "all")."""
    unused = tuple(
        key
        for key, value in terms.items()
        if value is None or value == [] or value == {}
        if key not in EMPTY_TERMS
    )
    return readable_terms(terms, leave_out=HEADING_FIELDS + unused)


def _shown(subject_id: int, title: str, versions: list[rule_history.Version]) -> ShownRule:
    shown = []
    for n, version in enumerate(versions):
        own = version.terms.get("version")
        changes = {k: v for k, v in version.changes.items() if k != "version"}
        shown.append(
            ShownVersion(
                version=version,
                terms=_first_terms(version.terms) if n == 0 else [],
                changes=readable_changes(changes, version.terms.get("currency"), version.terms),
                number=own if isinstance(own, int) else version.number,
                amended=n > 0 and own is not None and versions[n - 1].terms.get("version") == own,
            )
        )
    return ShownRule(subject_id, title, shown[::-1])


def _published(versions: list[rule_history.Version]) -> bool:
    """Whether staff have seen the perk: a draft's rules are HR's work in progress."""
    return any(v.terms.get("status") != PerkStatus.DRAFT.value for v in versions)


def _rate_terms(rate: WithholdingRate) -> dict[str, Any]:
    return {
        "effective_from": rate.effective_from.isoformat(),
        "rate_bps": rate.rate_bps,
        "payments_from": rate.threshold_amount,
        "currency": rate.currency,
        "note": rate.note,
    }


def _rates() -> list[ShownRule]:
    """The withholding rates, one rule per residence and currency, a version per rate row in
    the order they were written (each says the day it takes effect)."""
    rows = sorted(tax.rates(), key=lambda rate: (not rate.resident, rate.currency, rate.id))
    shown = []
    for n, ((resident, currency), group) in enumerate(
        groupby(rows, key=lambda rate: (rate.resident, rate.currency)), start=1
    ):
        title = (
            _l("Tax withheld from payouts: residents (%(currency)s)", currency=currency)
            if resident
            else _l("Tax withheld from payouts: non-residents (%(currency)s)", currency=currency)
        )
        versions = rule_history.as_versions([(r.created_at, _rate_terms(r)) for r in group])
        shown.append(_shown(n, str(title), versions))
    return shown


def _policies() -> list[ShownRule]:
    """Finance's policies, as they were set, and the withholding rates (three queries)."""
    shown = []
    for subject, title in (
        (rule_history.RETURNING_CUSTOMERS, _l("Returning customers")),
        (rule_history.LEAVERS, _l("Commissions of people who leave")),
    ):
        versions = rule_history.histories(subject).get(rule_history.POLICY_ID)
        if versions:
            shown.append(_shown(rule_history.POLICY_ID, str(title), versions))
    return shown + _rates()


def rules_history() -> list[Section]:
    """The three kinds of rules, each rule with its versions, newest first, and finance's
    policies (six queries). Raises nothing."""
    sections = []
    for key, title in (
        (rule_history.PERK, _l("Perks: who may claim them, when and how many")),
        (rule_history.COMMISSION_RULE, _l("Commission rules")),
        (rule_history.GIFT_PROGRAMME, _l("Gift programmes")),
    ):
        found = rule_history.histories(key)
        rules = [
            _shown(subject_id, _title(key, versions[-1].terms), versions)
            for subject_id, versions in found.items()
            if key != rule_history.PERK or _published(versions)
        ]
        rules.sort(key=lambda rule: name_order(rule.title))
        sections.append(Section(key, title, rules, note=NOTES.get(key)))
    sections.append(
        Section(
            "policies",
            _l("Finance's policies: returning customers, leavers and tax"),
            _policies(),
            note=_l(
                "Until finance first sets them, a customer belongs to the link they last "
                "clicked, and a leaver's commissions not yet payable are paid in their final "
                "settlement."
            ),
        )
    )
    return sections
