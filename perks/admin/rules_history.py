"""The public rules history: every version of each perk's rules, commission rule and gift
programme (``perks.rule_history``), written for the reader, without who changed them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from perks import rule_history
from perks.admin.audit_details import Detail, readable_changes, readable_terms
from perks.catalog.models import PerkStatus
from perks.commissions.models import RuleScope
from perks.folding import name_order

#: what each version's heading already says, left out of its terms
HEADING_FIELDS = ("name", "scope", "target")


@dataclass(frozen=True)
class ShownVersion:
    version: rule_history.Version
    #: the first version's terms in full
    terms: list[Detail]
    #: a later version's changes: (name, before, after)
    changes: list[tuple[str, str, str]]


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


def _title(subject: str, terms: Mapping[str, Any]) -> str:
    if subject == rule_history.COMMISSION_RULE:
        scope = RuleScope(terms["scope"]).label
        return f"{scope}: {terms['target']}" if terms.get("target") else str(scope)
    return readable_terms({"name": terms.get("name")})[0].value


def _shown(subject: str, subject_id: int, versions: list[rule_history.Version]) -> ShownRule:
    shown = [
        ShownVersion(
            version=version,
            terms=readable_terms(version.terms, leave_out=HEADING_FIELDS) if n == 0 else [],
            changes=readable_changes(version.changes, version.terms.get("currency")),
        )
        for n, version in enumerate(versions)
    ]
    return ShownRule(subject_id, _title(subject, versions[-1].terms), shown[::-1])


def _published(versions: list[rule_history.Version]) -> bool:
    """Whether staff have seen the perk: a draft's rules are HR's work in progress."""
    return any(v.terms.get("status") != PerkStatus.DRAFT.value for v in versions)


def rules_history() -> list[Section]:
    """The three kinds of rules, each rule with its versions, newest first (three queries).
    Raises nothing."""
    sections = []
    for key, title in (
        (rule_history.PERK, _l("Perks: who may claim them, when and how many")),
        (rule_history.COMMISSION_RULE, _l("Commission rules")),
        (rule_history.GIFT_PROGRAMME, _l("Gift programmes")),
    ):
        found = rule_history.histories(key)
        rules = [
            _shown(key, subject_id, versions)
            for subject_id, versions in found.items()
            if key != rule_history.PERK or _published(versions)
        ]
        rules.sort(key=lambda rule: name_order(rule.title))
        sections.append(Section(key, title, rules))
    return sections
