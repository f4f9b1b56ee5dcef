"""The audit log's details, read by people: each one a translated name and a value written
in the reader's language.

An event keeps its details as plain JSON (``perks.audit.record``): the values the service
had, such as ``roles: ["employee"]`` or ``currency: null``. Here they become what an
administrator reads: names from ``LABELS``, lists joined, nothing as "none", amounts with
their currency through the money format, ISO dates through the date format, choices by
their label (``Role``, ``CommissionState``...), people by name (one query for a page).
A name this table does not know is shown as it is stored, so a new detail is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal, format_percent, get_locale, lazy_pgettext, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.catalog.models import (
    Allocation,
    CodeMode,
    LimitPeriod,
    PerkCategory,
    PerkKind,
    PerkStatus,
)
from perks.commissions.models import (
    CommissionState,
    EntryKind,
    LeaverPolicy,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.extensions import db
from perks.folding import name_order
from perks.i18n import LabelledEnum, format_day, format_moment
from perks.money import Money, format_money
from perks.payments.models import EventOutcome
from perks.people.models import EmploymentType, Gender, Role, User
from perks.recognition.models import GiftsStoppedBy, OccasionKind
from perks.shop.models import RedemptionMode

#: what each action did, in the reader's language (``tests/functional/test_audit_details.py``
#: fails on an action recorded in the code and missing here)
ACTIONS: dict[str, Any] = {
    "api.claim_redeemed": _l("Perk code used through the API"),
    "api.order_redeemed": _l("Order used through the API"),
    "api.people_upserted": _l("People created or updated through the API"),
    "api.person_upserted": _l("Person created or updated through the API"),
    "api.person_deactivated": _l("Person deactivated through the API"),
    "api.personal_token_created": _l("Personal API token created"),
    "api.token_created": _l("API token created"),
    "api.token_revoked": _l("API token revoked"),
    "auth.admin_ensured": _l("Administrator account ensured"),
    "auth.invitation_accepted": _l("Invitation accepted"),
    "auth.invitation_sent": _l("Invitation sent"),
    "auth.logged_out_everywhere": _l("Signed out everywhere"),
    "auth.password_changed": _l("Password changed"),
    "auth.password_reset": _l("Password reset"),
    "auth.roles_changed": _l("Roles changed"),
    "brand.updated": _l("Company brand changed"),
    "catalog.claim_redeemed": _l("Perk code used at the counter"),
    "catalog.codes_imported": _l("Perk codes imported"),
    "catalog.draw_entries_closed": _l("Draw entries frozen"),
    "catalog.draw_made": _l("Draw made"),
    "catalog.draw_opened": _l("Draw opened"),
    "catalog.leaver_claim_ended": _l("Leaver's unused claim ended"),
    "catalog.draw_public_value_entered": _l("Draw public value entered"),
    "catalog.draw_seat_declined": _l("Draw seat declined"),
    "catalog.image_set": _l("Perk picture changed"),
    "catalog.perk_archived": _l("Perk archived"),
    "catalog.perk_created": _l("Perk created"),
    "catalog.perk_published": _l("Perk published"),
    "catalog.perk_updated": _l("Perk changed"),
    "commissions.adjustment": _l("Commission adjustment"),
    "commissions.leaver_policy_applied": _l("Leaver policy applied"),
    "commissions.leaver_policy_changed": _l("Leaver policy changed"),
    "commissions.leaver_settled": _l("Leaving date applied"),
    "commissions.rule_changed": _l("Commission rule changed"),
    "commissions.rule_created": _l("Commission rule created"),
    "commissions.rule_ended": _l("Commission rule ended"),
    "commissions.rule_versioned": _l("Commission rule revised"),
    "commissions.group_created": _l("Commission group created"),
    "commissions.group_member_added": _l("Person added to a commission group"),
    "commissions.group_member_removed": _l("Person removed from a commission group"),
    "referrals.returning_customers_changed": _l("Returning-customer setting changed"),
    "demo.seeded": _l("Demo company created"),
    "finance.export": _l("Export downloaded"),
    "finance.export_mapping_saved": _l("File column mapping saved"),
    "finance.leaver_balance_closed": _l("Leaver's balance closed"),
    "finance.payout_approved": _l("Payout batch approved"),
    "finance.payout_cancelled": _l("Payout batch cancelled"),
    "finance.payout_drafted": _l("Payout batch drafted"),
    "finance.payout_exported": _l("Payroll file downloaded"),
    "finance.payout_line_excluded": _l("Payout line excluded"),
    "finance.payout_paid": _l("Payout batch paid"),
    "finance.payout_payee_profile_changed": _l("Tax profile of a payee of a draft batch changed"),
    "finance.payout_payee_details_changed": _l("HR details of a payee of a draft batch changed"),
    "finance.tax_profile_saved": _l("Tax profile saved"),
    "finance.withholding_rate_added": _l("Withholding rate added"),
    "finance.withholding_summary_exported": _l("Yearly withholding summary downloaded"),
    "mail.retry": _l("E-mail sent again"),
    "payments.stripe_event_replayed": _l("Stripe event replayed"),
    "people.created": _l("Person added"),
    "people.deactivated": _l("Person deactivated"),
    "people.department_created": _l("Department created"),
    "people.email_changed": _l("Sign-in address changed"),
    "people.import": _l("People file imported"),
    "people.last_administrator_kept": _l("Last administrator kept past their leaving date"),
    "people.privacy_changed": _l("Privacy choices changed"),
    "people.reactivated": _l("Person reactivated"),
    "people.updated": _l("Person changed"),
    "feedback.acknowledge": _l("Feedback acknowledged"),
    "feedback.start": _l("Feedback in progress"),
    "feedback.answer": _l("Feedback answered"),
    "feedback.decline": _l("Feedback declined"),
    "feedback.close": _l("Feedback closed"),
    "feedback.desk_changed": _l("Feedback owner and targets changed"),
    "recognition.award_changed": _l("Award changed"),
    "survey.changed": _l("Survey changed"),
    "survey.closed": _l("Survey closed"),
    "survey.created": _l("Survey created"),
    "survey.deleted": _l("Survey draft deleted"),
    "survey.opened": _l("Survey opened"),
    "survey.question_added": _l("Survey question added"),
    "survey.question_moved": _l("Survey question moved"),
    "survey.question_removed": _l("Survey question removed"),
    "survey.reminded": _l("Survey reminders sent"),
    "survey.results_exported": _l("Survey results downloaded"),
    "recognition.award_created": _l("Award created"),
    "recognition.gifts_stopped": _l("Gifts not given"),
    "recognition.nomination_approved": _l("Nomination approved"),
    "recognition.nomination_declined": _l("Nomination declined"),
    "recognition.nomination_made": _l("Nomination made"),
    "recognition.nomination_withdrawn": _l("Nomination withdrawn"),
    "recognition.calendar_added": _l("Vietnamese calendar's occasions added"),
    "recognition.occasion_activated": _l("Occasion activated"),
    "recognition.occasion_changed": _l("Occasion changed"),
    "recognition.occasion_created": _l("Occasion created"),
    "recognition.occasion_deactivated": _l("Occasion deactivated"),
    "recognition.programme_changed": _l("Gift programme changed"),
    "recognition.programme_created": _l("Gift programme created"),
    "recognition.programme_paused": _l("Gift programme paused"),
    "recognition.programme_resumed": _l("Gift programme resumed"),
    "recognition.points_settings_changed": _l("Points settings changed"),
    "recognition.settings_changed": _l("Recognition settings changed"),
    "recognition.value_changed": _l("Company value changed"),
    "recognition.value_created": _l("Company value added"),
    "feedback.rating_hidden": _l("Rating comment hidden"),
    "feedback.rating_published": _l("Rating comment published"),
    "shop.category_created": _l("Product category created"),
    "shop.category_moved": _l("Product category moved"),
    "shop.category_updated": _l("Product category changed"),
    "shop.order_redeemed": _l("Order used at the counter"),
    "shop.refund_requested": _l("Refund asked of Stripe"),
    "shop.product_created": _l("Product created"),
    "shop.product_deactivated": _l("Product taken off sale"),
    "shop.product_reactivated": _l("Product back on sale"),
    "shop.product_updated": _l("Product changed"),
}

#: what an event's target is, in the reader's language (by its model's name)
TARGETS: dict[str, Any] = {
    "Award": _l("Award"),
    "BrandSettings": _l("Company brand"),
    "Claim": _l("Claim"),
    "CompanyValue": _l("Company value"),
    "CommissionRule": _l("Commission rule"),
    "Department": _l("Department"),
    "Draw": _l("Draw"),
    "LedgerEntry": _l("Ledger entry"),
    "Nomination": _l("Nomination"),
    "Occasion": _l("Occasion"),
    "Order": _l("Order"),
    "OutboxMessage": _l("E-mail"),
    "PayoutBatch": _l("Payout batch"),
    "PeopleImport": _l("People file"),
    "Perk": _l("Perk"),
    "Product": _l("Product"),
    "Rating": _l("Rating"),
    "ProductCategory": _l("Product category"),
    "RecognitionSettings": _l("Recognition settings"),
    "StoredImage": _l("Picture"),
    "StripeEvent": _l("Stripe event"),
    "Survey": _l("Survey"),
    "User": _l("Person"),
    "GiftProgramme": _l("Gift programme"),
    "FeedbackDesk": _l("Feedback desk"),
    "ApiToken": _l("API token"),
    "CommissionGroup": _l("Commission group"),
    "ExportMapping": _l("File column mapping"),
    "FeedbackItem": _l("Feedback"),
    "LeaverBalanceDecision": _l("Leaver's balance decision"),
    "LeaverSettings": _l("Leaver policy"),
    "ReturningCustomerSettings": _l("Returning customers"),
    "TaxProfile": _l("Tax profile"),
    "WithholdingRate": _l("Withholding rate"),
}


#: the areas of the audit log, by the prefix of their actions' codes (``people.``), as the
#: Action filter groups them, in the reader's language
AREAS: dict[str, Any] = {
    "api": lazy_pgettext("an area of the audit log", "API"),
    "auth": lazy_pgettext("an area of the audit log", "Accounts and sign-in"),
    "brand": lazy_pgettext("an area of the audit log", "Company brand"),
    "catalog": lazy_pgettext("an area of the audit log", "Perks"),
    "commissions": lazy_pgettext("an area of the audit log", "Commissions"),
    "demo": lazy_pgettext("an area of the audit log", "Demo"),
    "feedback": lazy_pgettext("an area of the audit log", "Feedback"),
    "finance": lazy_pgettext("an area of the audit log", "Finance"),
    "mail": lazy_pgettext("an area of the audit log", "E-mail"),
    "payments": lazy_pgettext("an area of the audit log", "Payments"),
    "people": lazy_pgettext("an area of the audit log", "People"),
    "recognition": lazy_pgettext("an area of the audit log", "Recognition"),
    "referrals": lazy_pgettext("an area of the audit log", "Referrals"),
    "shop": lazy_pgettext("an area of the audit log", "Shop"),
    "survey": lazy_pgettext("an area of the audit log", "Surveys"),
}


def area_of(action: str) -> str:
    """The area an action's code belongs to: what comes before its first dot."""
    return action.partition(".")[0]


def action_filter_choices() -> list[tuple[str, str, str]]:
    """The Action filter's options as (value, label, area label), in the reader's language:
    the areas by name, each one's "every action" option first (its code prefix, ``people.``),
    then its actions by name. An area without a name in ``AREAS`` is named by its prefix."""
    areas: dict[str, list[str]] = {}
    for action in ACTIONS:
        areas.setdefault(area_of(action), []).append(action)
    named = {area: str(AREAS.get(area, area)) for area in areas}
    options = []
    for area in sorted(areas, key=lambda a: name_order(named[a])):
        name = named[area]
        options.append((f"{area}.", _("%(area)s: every action", area=name), name))
        labels = {action: action_label(action) for action in areas[area]}
        for action in sorted(labels, key=lambda a: name_order(labels[a])):
            options.append((action, labels[action], name))
    return options


def action_label(action: str) -> str:
    """What ``action`` did, in the reader's language; an unknown action as it is stored."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def target_label(target_type: str, target_id: str) -> str:
    """The event's target ("Person #5"); an unknown kind as it is stored."""
    if not target_type:
        return ""
    kind = TARGETS.get(target_type)
    name = str(kind) if kind is not None else target_type
    return f"{name} #{target_id}" if target_id else name


#: what each detail is called, in the reader's language
LABELS: dict[str, Any] = {
    "active": _l("Active"),
    "after": _l("After"),
    "amount": _l("Amount"),
    "attempts": _l("Attempts"),
    "anniversary_milestones": _l("Work anniversaries celebrated (years)"),
    "award_id": _l("Award"),
    "before": _l("Before"),
    "cap_amount": _l("Cap"),
    "audience": _l("Whose sales"),
    "audience_target": _l("For"),
    "tier_measure": _l("Tiers count"),
    "tiers": _l("Tiers"),
    "threshold": _l("From"),
    "window_days": _l("Returning-customer window (days)"),
    "when": _l("When"),
    "returning_rate_bps": _l("Returning customers' rate"),
    "note": _l("Note"),
    "payments_from": _l("On payments of at least"),
    "password": _l("Password"),
    "carried": _l("Carried over"),
    "category": _l("Category"),
    "category_id": _l("Category"),
    "changes": _l("Changes"),
    "claim_id": _l("Claim"),
    "commission_id": _l("Commission"),
    "commitment": _l("Commitment"),
    "complete": _l("Complete"),
    "count": _l("Count"),
    "created": _l("Created"),
    "currency": _l("Currency"),
    "day": _l("Day"),
    "cutoff": _l("Cut-off"),
    "deactivated": _l("Deactivated"),
    "department_id": _l("Department"),
    "departments_created": _l("Departments created"),
    "description_en": _l("Description (English)"),
    "description_vi": _l("Description (Vietnamese)"),
    "detail": _l("Detail"),
    "effective_from": _l("Effective from"),
    "effective_to": _l("Effective until"),
    "end": _l("To"),
    "entries": _l("Entries"),
    "entry": lazy_pgettext("draw", "Entry"),  # a draw entry's key, not a ledger entry
    "event_id": _l("Stripe event"),
    "export": _l("Export"),
    "fields": _l("Fields changed"),
    "filename": _l("File"),
    "filter": _l("Filter"),
    "flat_amount": _l("Flat amount"),
    "format": _l("Format"),
    "founded_on": _l("Founding day"),
    "image": _l("Picture"),
    "kind": _l("Kind"),
    "last_error": _l("Last error"),
    "last_day": _l("Last day"),
    "line_id": _l("Payout line"),
    "lines": lazy_pgettext("a count of payout lines", "Lines"),
    "keys": _l("Occasions"),
    "max_quantity_per_order": _l("Most per order"),
    "monthly_allowance": _l("Monthly allowance to give"),
    "month": _l("Month"),
    "name": _l("Name"),
    "name_en": _l("Name (English)"),
    "name_vi": _l("Name (Vietnamese)"),
    "pair_monthly_limit": _l("Most points to one colleague a month"),
    "point_value": _l("Worth of one point (VND)"),
    "no_department": _l("No department"),
    "nominee_id": _l("Nominee"),
    "no_product": _l("No product"),
    "number": _l("Order number"),
    "order": _l("Order on the storefront"),
    "outcome": _l("Outcome"),
    "payment_reference": _l("Payment reference"),
    "people": _l("People"),
    "perk_id": _l("Perk"),
    "points": _l("Points"),
    "points_price": _l("Price in points"),
    "value": _l("Value"),
    "terms": _l("Terms"),
    "position": _l("Position"),
    "published": _l("Shown on the page"),
    "price_amount": _l("Price"),
    "product_id": _l("Product"),
    "rate_bps": _l("Rate"),
    "role_allowances": _l("Monthly allowance per role"),
    "reason": _l("Reason"),
    "stopped_by": _l("Why"),
    "redemption_mode": _l("Redeemed"),
    "reference": _l("Reference"),
    "refund_id": _l("Stripe refund"),
    "request_token": _l("Request"),
    "roles": _l("Roles"),
    "subject": _l("Subject"),
    "rows": _l("Rows"),
    "scope": _l("Applies to"),
    "seats": _l("Seats"),
    "segment": _l("Those who answered"),
    "sha256": _l("SHA-256"),
    "shown": _l("Amount shown"),
    "slug": _l("Web address"),
    "staff_discount_bps": _l("Staff discount"),
    "staff_price_amount": _l("Staff price"),
    "start": _l("From"),
    "state": _l("State"),
    "supersedes": _l("Replaces rule"),
    "title": _l("Title"),
    "totals": _l("Totals"),
    "type": _l("Type"),
    "unchanged": _l("Unchanged"),
    "updated": _l("Updated"),
    "user_id": _l("Person"),
    "values": _l("Values"),
    "version": _l("Version"),
    #: a payout batch's row version after a line was left out (an approval from a page that
    #: showed an older one is refused)
    "row_version": _l("Batch version"),
    # the rules' terms (``perks.rule_history``): a perk's, a commission rule's, a programme's
    "allocation": _l("Allocated"),
    "budget": _l("Budget per occasion year"),
    "days_ahead": _l("Days ahead"),
    "department_budgets": _l("Budget per department"),
    "departments": _l("Departments"),
    "employment_types": _l("Employment types"),
    "ends_on": _l("Ends on"),
    # a perk's other details (``catalog.perk_updated``)
    "code_mode": _l("How codes are given"),
    "partner_name": _l("Partner or vendor"),
    "shared_code": _l("Shared code"),
    "gender": _l("Gender"),
    "gift": _l("Gift"),
    "limit_period": _l("Limit period"),
    "locations": _l("Locations"),
    "min_tenure_days": _l("Minimum tenure (days)"),
    "occasion": _l("Occasion"),
    "occasion_active": _l("Occasion on the calendar"),
    "per_person_limit": _l("Limit per person"),
    "requires_children": _l("Only with children under 15"),
    "starts_on": _l("Starts on"),
    "status": _l("Status"),
    "target": _l("Product or category"),
    "total_stock": _l("Stock"),
    "unit_cost": _l("Cost of one gift"),
    # a feedback desk's owner and targets
    "owner_id": _l("Owner"),
    "acknowledge_days": _l("Acknowledge within (working days)"),
    "answer_days": _l("Answer within (working days)"),
    # a gift programme's, a survey's and a draw's own words
    "occasion_id": _l("Occasion"),
    "message_vi": _l("Message (Vietnamese)"),
    "message_en": _l("Message (English)"),
    "title_vi": _l("Title (Vietnamese)"),
    "title_en": _l("Title (English)"),
    "intro_vi": _l("Introduction (Vietnamese)"),
    "intro_en": _l("Introduction (English)"),
    "question": _l("Question"),
    "questions": _l("Questions"),
    "public_value": _l("Public value"),
    "public_value_source": _l("Source of the public value"),
    "public_value_date": _l("Day of the public value"),
    "public_value_time": _l("Time the public value is published"),
    "entries_hash": _l("Hash of the entries"),
    # a payroll file's and a payout's
    "file": _l("File"),
    "mapping": _l("File columns"),
    "withheld": _l("Tax withheld"),
    # a leaver's and their settlement's
    "leaving_date": _l("Leaving date"),
    "policy": _l("Leaver policy"),
    "vested": _l("Commissions vested"),
    "forfeited": _l("Commissions forfeited"),
    "ledger_entry_id": _l("Ledger entry"),
    # a tax profile's (``changed`` names its fields) and a yearly summary's
    "changed": _l("Fields changed"),
    "tax_code": _l("Tax code (mã số thuế)"),
    "resident": _l("Resident in Vietnam for tax"),
    "long_contract": _l("Labour contract of three months or more (commissions are salary income)"),
    "commitment_year": _l("Year of the commitment form (mẫu 08/CK-TNCN) on file"),
    "bank_account_number": _l("Bank account number"),
    "bank_name": _l("Bank"),
    "account_holder": _l("Account holder"),
    "year": _l("Year"),
    # a draw's public value (``catalog.draw_public_value_entered``)
    "source": _l("Source of the public value"),
    "date": _l("Day of the public value"),
    # written by the demo's own story, not by a person
    "demo": _l("Demo data"),
    # the API's writes (``api.*``)
    "token": _l("API token"),
    "code": _l("Code"),
    # an API token's
    "label": _l("Label"),
    "scopes": _l("Permissions"),
    "expires_on": _l("Expires on"),
    # the company's brand
    "company_name": _l("Company name"),
    "primary_colour": _l("Main colour"),
    "accent_colour": _l("Button colour"),
    "tagline_vi": _l("Storefront tagline (Vietnamese)"),
    "tagline_en": _l("Storefront tagline (English)"),
    "contact_email": _l("Contact e-mail"),
    "contact_phone": _l("Contact phone"),
    "contact_address": _l("Address"),
    "legal_footer_vi": _l("Legal footer (Vietnamese)"),
    "legal_footer_en": _l("Legal footer (English)"),
    "logo": _l("Logo"),
    # a person's columns, as ``people.updated`` lists them in ``fields``
    "birth_day": _l("Birthday"),
    "birth_month": _l("Birthday"),  # the two read as one (``_value`` lists a name once)
    "email": _l("E-mail"),
    "employee_number": _l("Employee number"),
    "employment_type": _l("Employment type"),
    "hire_date": _l("Hire date"),
    "locale": _l("Language"),
    "location": _l("Location"),
    "manager_id": _l("Manager"),
}

#: details whose values are a choice, by the enums that may hold them (first match wins)
CHOICES: dict[str, tuple[type[LabelledEnum], ...]] = {
    "after": (Role,),
    "before": (Role,),
    "allocation": (Allocation,),
    "category": (PerkCategory,),
    "code_mode": (CodeMode,),
    "employment_types": (EmploymentType,),
    "gender": (Gender,),
    "kind": (RuleKind, EntryKind, OccasionKind, PerkKind),
    "limit_period": (LimitPeriod,),
    "status": (PerkStatus,),
    "outcome": (EventOutcome,),
    "policy": (LeaverPolicy,),
    "redemption_mode": (RedemptionMode,),
    "roles": (Role,),
    "scope": (RuleScope,),
    "state": (CommissionState,),
    "stopped_by": (GiftsStoppedBy,),
    "audience": (RuleAudience,),
    "tier_measure": (TierMeasure,),
    "employment_type": (EmploymentType,),
}

#: details that are amounts in minor units of the event's ``currency``
AMOUNTS = frozenset(
    {
        "amount",
        "budget",
        "cap_amount",
        "flat_amount",
        "payments_from",
        "price_amount",
        "staff_price_amount",
        "unit_cost",
    }
)
#: details that are amounts of the event's ``currency`` by a name that is data (a department)
AMOUNTS_BY_NAME = frozenset({"department_budgets"})
#: a text kept in both languages
BILINGUAL = frozenset({"vi", "en"})
#: details that are one amount per currency: ``{"VND": 120000}``
TOTALS = frozenset({"totals", "withheld"})
#: a payroll file's kind (``file``), as the payout page names its two files
FILE_KINDS = {"payroll": _l("Payroll"), "bank": _l("Bank transfer")}
#: what a brand save did to the logo (``logo``), as ``perks.branding.services`` records it
LOGO_CHANGES = {"replaced": _l("replaced"), "removed": _l("removed")}
#: details that are basis points
PERCENTAGES = frozenset({"rate_bps", "returning_rate_bps", "staff_discount_bps"})
#: details that are a person's id
PEOPLE = frozenset({"user_id", "manager_id", "nominee_id", "owner_id"})
#: details that name other details (``people.updated``'s ``fields``)
FIELD_NAMES = frozenset({"fields", "changed"})


@dataclass(frozen=True, slots=True)
class Detail:
    label: str
    value: str


def label_of(key: str) -> str:
    """The detail's name in the reader's language; the key itself when it has none."""
    label = LABELS.get(key)
    return str(label) if label is not None else key


def readable_details(events: Iterable[AuditEvent]) -> dict[int, list[Detail]]:
    """Each event's details for people, by event id; the names of the people they mention
    are read in one query."""
    events = list(events)
    names = _names(
        {
            value
            for event in events
            for key, value in _flat(event.details)
            if key in PEOPLE and isinstance(value, int)
        }
    )
    return {event.id: _details(event.details, names) for event in events}


#: what nothing means in a rule's terms: no restriction or no limit, never "none" (a perk for
#: every department read "Departments: none", and narrowing it to one "none → Kinh doanh")
EMPTY_TERMS = {
    "departments": _l("all"),
    "locations": _l("all"),
    "employment_types": _l("all"),
    "gender": _l("all"),
    "total_stock": _l("no limit"),
    "per_person_limit": _l("no limit"),
    "budget": _l("no limit"),
    "starts_on": _l("from publication"),
    "ends_on": _l("no end"),
    "effective_to": _l("no end"),
    "points_price": _l("not for points"),
    "value": _l("not stated"),
    "terms": _l("not stated"),
    "cap_amount": _l("no cap"),
    "window_days": _l("off"),
    "returning_rate_bps": _l("the commission rule's own terms"),
    "note": _l("not stated"),
}


def _term(key: str, value: Any, currency: Any, terms: Mapping[str, Any] | None = None) -> str:
    """One term of a rule; ``terms``: the rule's terms it is one of (what a commission rule's
    tiers count, and in which currency)."""
    if key in EMPTY_TERMS and (
        value is None or value == [] or (isinstance(value, Mapping) and not any(value.values()))
    ):
        return str(EMPTY_TERMS[key])
    if (
        key == "tiers"
        and terms is not None
        and isinstance(value, list)
        and value
        and all(isinstance(tier, Mapping) for tier in value)
    ):
        return _tiers(value, terms)
    return _value(key, value, currency, {})


def _tiers(tiers: Sequence[Mapping[str, Any]], terms: Mapping[str, Any]) -> str:
    """A commission rule's tiers as its rules page writes them ("from $50,000.00 sold in the
    month: 5%"): a threshold counts lines, or minor units of the rule's currency."""
    currency = terms.get("currency")
    parts = []
    for tier in tiers:
        threshold = tier.get("threshold")
        if not isinstance(threshold, int):
            start = _value("threshold", threshold, None, {})
        elif terms.get("tier_measure") == TierMeasure.AMOUNT.value and (
            isinstance(currency, str) and currency
        ):
            start = _(
                "from %(amount)s sold in the month",
                amount=format_money(Money(threshold, currency)),
            )
        else:
            start = ngettext(
                "from %(num)s line sold in the month",
                "from %(num)s lines sold in the month",
                threshold,
            )
        flat = tier.get("flat_amount")
        if flat is not None:
            earns = _("%(amount)s per unit", amount=_value("flat_amount", flat, currency, {}))
        else:
            earns = _value("rate_bps", tier.get("rate_bps"), currency, {})
        parts.append(f"{start}: {earns}")
    return "; ".join(parts)


def readable_terms(terms: Mapping[str, Any], *, leave_out: Iterable[str] = ()) -> list[Detail]:
    """A rule's terms (``perks.rule_history``), each named and written for the reader; those
    named in ``leave_out`` (shown elsewhere on the page) left out. Names nobody."""
    currency = terms.get("currency")
    left_out = set(leave_out)
    if any(terms.get(key) is not None for key in AMOUNTS):
        left_out.add("currency")  # said with the amounts
    return [
        Detail(label_of(key), _term(key, value, currency, terms))
        for key, value in terms.items()
        if key not in left_out
    ]


def readable_changes(
    changes: Mapping[str, tuple[Any, Any]], currency: Any, terms: Mapping[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    """What changed between two versions of a rule: (name, before, after), written for the
    reader; ``terms``: the later version's terms in full (what its tiers count). Amounts
    before a change of currency are in the currency they were in. Names nobody."""
    after = dict(terms or {})
    before = after | {key: pair[0] for key, pair in changes.items()}
    currency_before = changes["currency"][0] if "currency" in changes else currency
    return [
        (
            label_of(key),
            _term(key, was, currency_before, before if terms is not None else None),
            _term(key, now, currency, after if terms is not None else None),
        )
        for key, (was, now) in changes.items()
    ]


def _flat(details: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """Every detail, those of nested groups (an export's filter, a change) included."""
    for key, value in details.items():
        if isinstance(value, Mapping):
            yield from _flat(value)
        elif isinstance(value, list) and key in PEOPLE:
            yield from ((key, item) for item in value)
        else:
            yield key, value


def _names(user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())


def _details(details: Mapping[str, Any], names: Mapping[int, str]) -> list[Detail]:
    currency = details.get("currency")
    shown: list[Detail] = []
    changes = details.get("changes")
    changed_amounts = isinstance(changes, Mapping) and not AMOUNTS.isdisjoint(changes)
    for key, value in details.items():
        if key == "currency" and (
            changed_amounts or any(details.get(k) is not None for k in AMOUNTS)
        ):
            continue  # said with the amounts
        if key == "changes" and isinstance(value, Mapping):
            shown.append(Detail(label_of(key), _changes(value, currency, names)))
            continue
        if key == "tiers" and _is_tier_rows(value):
            # a commission rule's tiers, kept as [threshold, rate_bps, flat_amount]
            tiers = [
                dict(zip(("threshold", "rate_bps", "flat_amount"), t, strict=True)) for t in value
            ]
            shown.append(Detail(label_of(key), _tiers(tiers, details)))
            continue
        shown.append(Detail(label_of(key), _value(key, value, currency, names)))
    return shown


def _is_tier_rows(value: Any) -> bool:
    """Whether ``value`` is a commission rule's tiers as its audit events keep them."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(row, list) and len(row) == 3 for row in value)
    )


def _changes(changes: Mapping[str, Any], currency: Any, names: Mapping[int, str]) -> str:
    """``{"price_amount": [1000, 2000]}`` as "Price: 1.000 → 2.000" (as "₫1.000 → ₫2.000"
    with the event's ``currency``); when the currency itself changed, the amounts before are
    read in the old one and those after in the new one."""
    currencies = changes.get("currency")
    if isinstance(currencies, list | tuple) and len(currencies) == 2:
        currency_before, currency_after = currencies
    else:
        currency_before = currency_after = currency
    parts = []
    for key, pair in changes.items():
        before, after = pair if isinstance(pair, Sequence) and len(pair) == 2 else (None, pair)
        parts.append(
            _(
                "%(name)s: %(before)s → %(after)s",
                name=label_of(key),
                before=_value(key, before, currency_before, names),
                after=_value(key, after, currency_after, names),
            )
        )
    return "; ".join(parts)


def _value(key: str, value: Any, currency: Any, names: Mapping[int, str]) -> str:
    if value is None:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        items = dict.fromkeys(_value(key, item, currency, names) for item in value)
        return ", ".join(items) or _("none")
    if isinstance(value, Mapping):
        if set(value) == BILINGUAL:  # the reader's language, else the other one
            mine, other = ("en", "vi") if str(get_locale()) == "en" else ("vi", "en")
            return str(value[mine] or value[other])
        if key in AMOUNTS_BY_NAME and isinstance(currency, str) and currency:
            return "; ".join(
                f"{name}: {format_money(Money(int(amount), currency))}"
                for name, amount in value.items()
            ) or _("none")
        if key in TOTALS:  # one amount per currency
            return ", ".join(
                format_money(Money(int(amount), str(code))) for code, amount in value.items()
            ) or _("none")
        return "; ".join(
            f"{label_of(k)}: {_value(k, v, value.get('currency', currency), names)}"
            for k, v in value.items()
        )
    if key in AMOUNTS and isinstance(value, int) and isinstance(currency, str) and currency:
        return format_money(Money(value, currency))
    if key in PERCENTAGES and isinstance(value, int):
        return str(format_percent(Decimal(value) / 10_000, "#,##0.##%"))
    if key in PEOPLE and isinstance(value, int):
        return names.get(value, f"#{value}")
    if key in FIELD_NAMES and isinstance(value, str):
        return label_of(value)
    if isinstance(value, int):
        return str(format_decimal(value))
    if key == "file" and value in FILE_KINDS:
        return str(FILE_KINDS[value])
    if key == "logo" and value in LOGO_CHANGES:
        return str(LOGO_CHANGES[value])
    if isinstance(value, str):
        return _choice(key, value) or _moment(value) or value
    return str(value)


def _choice(key: str, value: str) -> str | None:
    for choice in CHOICES.get(key, ()):
        try:
            return choice(value).label
        except ValueError:
            continue
    return None


def _moment(text: str) -> str | None:
    """An ISO date or moment, as the reader writes it; None for any other text."""
    if len(text) == 10:
        try:
            return format_day(date.fromisoformat(text))
        except ValueError:
            return None
    if len(text) > 10 and text[4] == "-" and "T" in text:
        try:
            return format_moment(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None
