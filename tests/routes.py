"""Every route of the app and the status each role gets from it: the route table.

``ROUTES`` maps each endpoint to its method, a URL made from a dict of sample ids (``url``),
the expected status per role (``expected``, keyed by ``ROLES``: ``ANONYMOUS`` and every
``Role`` value) and the form it sends. tests/functional/test_route_access.py checks every
endpoint is here and answers as said; tests/site_pages.py reads who sees which page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perks.i18n import company_today
from perks.people.models import Role

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *[r.value for r in Role]]
IGNORED_ENDPOINTS = {"static", "bootstrap.static"}


def only(*allowed: Role, ok: int = 200, anonymous: int = 302) -> dict[str, int]:
    """Status per role: ``ok`` for the allowed roles (admins always), 403 for the rest."""
    statuses = {ANONYMOUS: anonymous}
    for role in Role:
        permitted = not allowed or role in allowed or role is Role.ADMIN
        statuses[role.value] = ok if permitted else 403
    return statuses


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


#: routes that redirect anonymous visitors somewhere other than the sign-in page
PUBLIC_REDIRECTS = {"main.set_language", "referrals.redirect"}

SIGNED_IN = only()
HR = only(Role.HR)
HR_POST = only(Role.HR, ok=302)
ADMIN = only(Role.ADMIN)
FINANCE = only(Role.FINANCE)
SHELVES = only(Role.HR, Role.FINANCE)
SHELVES_POST = only(Role.HR, Role.FINANCE, ok=303)
ONLY_ADMINS_SEE_OTHERS = {**only(ok=404), Role.ADMIN.value: 200}


@dataclass(frozen=True)
class Route:
    method: str
    url: Callable[[dict], str]
    expected: dict[str, int]
    data: dict[str, str] | None = None


ROUTES: dict[str, Route] = {
    "main.home": Route("GET", lambda s: "/", SIGNED_IN),
    "main.health": Route("GET", lambda s: "/healthz", everyone(200)),
    # Prometheus: the test client comes from 127.0.0.1, so it may scrape (tests/functional/
    # test_metrics.py shows a 404 from elsewhere without METRICS_TOKEN)
    "metrics.metrics": Route("GET", lambda s: "/metrics", everyone(200)),
    "main.ready": Route("GET", lambda s: "/readyz", everyone(200)),
    "main.set_language": Route("POST", lambda s: "/language", everyone(302), {"locale": "en"}),
    "auth.login": Route("GET", lambda s: "/login", {**everyone(302), ANONYMOUS: 200}),
    "auth.logout": Route("POST", lambda s: "/logout", only(ok=302)),
    "auth.logout_everywhere": Route("POST", lambda s: "/logout-everywhere", only(ok=302)),
    "auth.account": Route("GET", lambda s: "/account", SIGNED_IN),
    # Notifications: everyone's own; someone else's answers 404, admins included
    "notifications.index": Route("GET", lambda s: "/notifications", SIGNED_IN),
    "notifications.open_notification": Route(
        "POST", lambda s: f"/notifications/{s['notification']}/open", only(ok=404)
    ),
    "notifications.mark_all_read": Route("POST", lambda s: "/notifications/read", only(ok=302)),
    "notifications.preferences": Route("GET", lambda s: "/notifications/preferences", SIGNED_IN),
    "auth.forgot_password": Route("GET", lambda s: "/password/forgot", everyone(200)),
    "auth.accept_invitation": Route("GET", lambda s: "/invitation/not-a-token", everyone(400)),
    "auth.reset_password": Route("GET", lambda s: "/password/reset/not-a-token", everyone(400)),
    "people.directory": Route("GET", lambda s: "/people/", HR),
    "people.create": Route("GET", lambda s: "/people/new", HR),
    "people.detail": Route("GET", lambda s: f"/people/{s['person']}", HR),
    "people.edit": Route("GET", lambda s: f"/people/{s['person']}/edit", HR),
    "people.deactivate": Route("POST", lambda s: f"/people/{s['person']}/deactivate", HR_POST),
    "people.reactivate": Route("POST", lambda s: f"/people/{s['person']}/reactivate", HR_POST),
    "auth.invite": Route("POST", lambda s: f"/people/{s['person']}/invite", HR_POST),
    "people.departments": Route("GET", lambda s: "/people/departments", HR),
    "people_import.upload": Route("GET", lambda s: "/people/import/", HR),
    "people_import.example": Route("GET", lambda s: "/people/import/example.csv", HR),
    # Uploads belong to the HR person who made them: anyone else's id answers 404.
    "people_import.review": Route(
        "GET", lambda s: f"/people/import/{s['import']}", only(Role.HR, ok=404)
    ),
    "people_import.confirm": Route(
        "POST", lambda s: f"/people/import/{s['import']}/confirm", only(Role.HR, ok=404)
    ),
    # Someone else's dry run (which found no problem: no file to download either)
    "people_import.problems": Route(
        "GET", lambda s: f"/people/import/jobs/{s['job']}/problems.csv", only(Role.HR, ok=404)
    ),
    # Background jobs: everyone's own list; a job is seen by who started it and by admins
    "background.my_jobs": Route("GET", lambda s: "/jobs/", SIGNED_IN),
    "background.job_page": Route("GET", lambda s: f"/jobs/{s['job']}", ONLY_ADMINS_SEE_OTHERS),
    "background.job_status": Route(
        "GET", lambda s: f"/jobs/{s['job']}/status", ONLY_ADMINS_SEE_OTHERS
    ),
    # Catalog: employees
    "catalog.index": Route("GET", lambda s: "/perks", SIGNED_IN),
    "catalog.detail": Route("GET", lambda s: f"/perks/{s['perk']}", SIGNED_IN),
    "catalog.perk_image": Route("GET", lambda s: f"/perks/{s['perk']}/image", only(ok=404)),
    "catalog.claim_perk": Route("POST", lambda s: f"/perks/{s['perk']}/claim", only(ok=302)),
    "catalog.enter_draw": Route("POST", lambda s: f"/perks/{s['draw_perk']}/enter", only(ok=302)),
    "catalog.my_perks": Route("GET", lambda s: "/my-perks", SIGNED_IN),
    # Claims and entries belong to someone else: 404 for everybody, admins included.
    "catalog.my_claim": Route("GET", lambda s: f"/my-perks/{s['claim']}", only(ok=404)),
    "catalog.mark_used": Route("POST", lambda s: f"/my-perks/{s['claim']}/used", only(ok=404)),
    "catalog.decline_seat": Route(
        "POST", lambda s: f"/draws/entries/{s['entry']}/decline", only(ok=404)
    ),
    "catalog.redeem": Route("GET", lambda s: "/redeem", only(Role.REDEEMER)),
    "catalog.redeem_use": Route(
        "POST", lambda s: "/redeem/use", only(Role.REDEEMER, ok=404), {"code": "PK-NONE-NONE"}
    ),
    "catalog.draw": Route("GET", lambda s: f"/draws/{s['draw']}", SIGNED_IN),
    # before the draw its seed is secret: the data is not found
    "catalog.draw_data": Route("GET", lambda s: f"/draws/{s['draw']}/data.json", only(ok=404)),
    "catalog.rules": Route("GET", lambda s: "/rules", SIGNED_IN),
    # Catalog: HR
    "catalog_admin.index": Route("GET", lambda s: "/admin/perks/", HR),
    "catalog_admin.create": Route("GET", lambda s: "/admin/perks/new", HR),
    "catalog_admin.edit": Route("GET", lambda s: f"/admin/perks/{s['perk']}/edit", HR),
    "catalog_admin.publish": Route(
        "POST", lambda s: f"/admin/perks/{s['draft_perk']}/publish", HR_POST
    ),
    "catalog_admin.archive": Route(
        "POST", lambda s: f"/admin/perks/{s['draft_perk']}/archive", HR_POST
    ),
    "catalog_admin.codes": Route("GET", lambda s: f"/admin/perks/{s['pool_perk']}/codes", HR),
    "catalog_admin.draw": Route("GET", lambda s: f"/admin/perks/{s['draw_perk']}/draw", HR),
    "catalog_admin.run_draw": Route(
        "POST", lambda s: f"/admin/perks/{s['draw_perk']}/draw/run", HR_POST
    ),
    # an empty value: refused with the page again
    "catalog_admin.public_value": Route(
        "POST", lambda s: f"/admin/perks/{s['draw_perk']}/draw/public-value", only(Role.HR, ok=400)
    ),
    "catalog_admin.draws_waiting": Route("GET", lambda s: "/admin/perks/draws/waiting", HR),
    # Filtered to one action the statement-count test's world writes once per unit: unfiltered,
    # its first page (50 events) is nearly full at 1× and cannot show that 10× reaches it.
    "admin.audit_log": Route("GET", lambda s: "/admin/audit?action=finance.payout_paid", ADMIN),
    # API tokens (perks.api.pages): admins' service tokens, everyone's own read tokens
    "api_tokens.service_tokens": Route("GET", lambda s: "/admin/api-tokens", ADMIN),
    "api_tokens.revoke_service_token": Route(
        "POST", lambda s: "/admin/api-tokens/999999/revoke", only(Role.ADMIN, ok=404)
    ),
    "api_tokens.personal_tokens": Route("GET", lambda s: "/account/api-tokens", SIGNED_IN),
    "api_tokens.revoke_personal_token": Route(
        "POST", lambda s: "/account/api-tokens/999999/revoke", only(ok=404)
    ),
    "api_tokens.docs": Route("GET", lambda s: "/api/v1/docs", everyone(200)),
    # The JSON API answers bearer tokens only: a signed-in browser gets 401 like anyone
    # (tests/functional/test_api.py checks the tokens and scopes).
    "api-docs.openapi_json": Route("GET", lambda s: "/api/v1/openapi.json", everyone(200)),
    "api.health": Route("GET", lambda s: "/api/v1/health", everyone(200)),
    "api.version": Route("GET", lambda s: "/api/v1/version", everyone(200)),
    "api.list_people": Route("GET", lambda s: "/api/v1/people", everyone(401)),
    "api.get_person": Route("GET", lambda s: "/api/v1/people/NV1", everyone(401)),
    "api.upsert_batch": Route("POST", lambda s: "/api/v1/people", everyone(401)),
    "api.upsert_one": Route("PUT", lambda s: "/api/v1/people/NV1", everyone(401)),
    "api.deactivate": Route("POST", lambda s: "/api/v1/people/NV1/deactivate", everyone(401)),
    "api.catalog": Route("GET", lambda s: "/api/v1/perks", everyone(401)),
    "api.list_claims": Route("GET", lambda s: "/api/v1/claims", everyone(401)),
    "api.look_up_claim": Route("GET", lambda s: "/api/v1/counters/claims/X", everyone(401)),
    "api.redeem_claim": Route("POST", lambda s: "/api/v1/counters/claims/X/redeem", everyone(401)),
    "api.look_up_order": Route("GET", lambda s: "/api/v1/counters/orders/X", everyone(401)),
    "api.redeem_order": Route("POST", lambda s: "/api/v1/counters/orders/X/redeem", everyone(401)),
    "api.list_commissions": Route("GET", lambda s: "/api/v1/commissions", everyone(401)),
    "api.list_ledger": Route("GET", lambda s: "/api/v1/ledger-entries", everyone(401)),
    "api.list_payouts": Route("GET", lambda s: "/api/v1/payout-batches", everyone(401)),
    "api.get_payout": Route("GET", lambda s: "/api/v1/payout-batches/X", everyone(401)),
    "admin.outbox": Route("GET", lambda s: "/dev/outbox", ADMIN),
    "admin.messages": Route("GET", lambda s: "/admin/messages", ADMIN),
    "admin.retry_message": Route(
        "POST", lambda s: f"/admin/messages/{s['message']}/retry", only(Role.ADMIN, ok=302)
    ),
    "admin.outbox_message": Route("GET", lambda s: f"/dev/outbox/{s['message']}", ADMIN),
    # The company's brand: HR and admins edit it; its stylesheet is public, its logo too (a
    # name that is not the logo's is a 404)
    "brand_admin.edit": Route("GET", lambda s: "/settings/brand", HR),
    "branding.stylesheet": Route("GET", lambda s: "/brand.css", everyone(200)),
    "branding.logo": Route("GET", lambda s: f"/brand/logo/{'0' * 32}.png", everyone(404)),
    # Occasions: everyone's calendar; HR manages them (a calendar's occasion is not edited:
    # the sample is one of the company's own; activating an active one says so: 303 too)
    "recognition.calendar": Route("GET", lambda s: "/occasions", SIGNED_IN),
    # The recognition wall: everyone's (what people chose to hide is left out for everyone).
    "recognition.wall": Route("GET", lambda s: "/wall", SIGNED_IN),
    "recognition.manage": Route("GET", lambda s: "/manage/occasions", HR),
    "recognition.create": Route("GET", lambda s: "/manage/occasions/new", HR),
    "recognition.edit": Route("GET", lambda s: f"/manage/occasions/{s['occasion']}/edit", HR),
    "recognition.settings": Route("GET", lambda s: "/manage/occasions/settings", HR),
    "recognition.add_calendar": Route(
        "POST", lambda s: "/manage/occasions/calendar", only(Role.HR, ok=303)
    ),
    "recognition.deactivate": Route(
        "POST", lambda s: f"/manage/occasions/{s['occasion']}/deactivate", only(Role.HR, ok=303)
    ),
    "recognition.activate": Route(
        "POST", lambda s: f"/manage/occasions/{s['occasion']}/activate", only(Role.HR, ok=303)
    ),
    # A person's privacy choices on their account page
    "auth.privacy": Route("POST", lambda s: "/account/privacy", only(ok=303)),
    # Gift programmes: HR's (pausing a paused one, resuming a running one says so: 303 too)
    "recognition.programmes": Route("GET", lambda s: "/manage/gifts", HR),
    "recognition.preview": Route("GET", lambda s: "/manage/gifts/preview", HR),
    "recognition.create_programme": Route("GET", lambda s: "/manage/gifts/new", HR),
    "recognition.edit_programme": Route(
        "GET", lambda s: f"/manage/gifts/{s['programme']}/edit", HR
    ),
    "recognition.granted": Route("GET", lambda s: f"/manage/gifts/{s['programme']}/granted", HR),
    "recognition.pause_programme": Route(
        "POST", lambda s: f"/manage/gifts/{s['programme']}/pause", only(Role.HR, ok=303)
    ),
    "recognition.resume_programme": Route(
        "POST", lambda s: f"/manage/gifts/{s['programme']}/resume", only(Role.HR, ok=303)
    ),
    # Awards: everyone sees them; managers nominate their team and withdraw their own
    # nominations (the sample is someone else's: 404); HR manages awards, decides on
    # nominations (the sample is pending: approved, or declined with a reason) and reads the
    # fairness report
    # surveys: HR builds, opens, reminds, closes and reads them; everyone answers theirs
    # (the sample is an open survey for everyone; a second, answered POST is a 409)
    "surveys.manage": Route("GET", lambda s: "/manage/surveys", HR),
    "surveys.create": Route("GET", lambda s: "/manage/surveys/new", HR),
    "surveys.edit": Route("GET", lambda s: f"/manage/surveys/{s['draft_survey']}/edit", HR),
    "surveys.detail": Route("GET", lambda s: f"/manage/surveys/{s['survey']}", HR),
    "surveys.results": Route("GET", lambda s: f"/manage/surveys/{s['survey']}/results", HR),
    "surveys.add_question": Route(
        "POST", lambda s: f"/manage/surveys/{s['survey']}/questions", only(Role.HR, ok=303)
    ),
    "surveys.remove_question": Route(
        "POST",
        lambda s: f"/manage/surveys/{s['survey']}/questions/{s['survey_question']}/remove",
        only(Role.HR, ok=303),
    ),
    "surveys.move_question": Route(
        "POST",
        lambda s: f"/manage/surveys/{s['survey']}/questions/{s['survey_question']}/move/up",
        only(Role.HR, ok=303),
    ),
    "surveys.open_survey": Route(
        "POST", lambda s: f"/manage/surveys/{s['survey']}/open", only(Role.HR, ok=303)
    ),
    # the sample survey is open: refused, back to its page (a draft's deletion: its own test)
    "surveys.delete_draft": Route(
        "POST", lambda s: f"/manage/surveys/{s['survey']}/delete", only(Role.HR, ok=303)
    ),
    "surveys.close_survey": Route(
        "POST", lambda s: f"/manage/surveys/{s['closed_survey']}/close", only(Role.HR, ok=303)
    ),
    "surveys.remind": Route(
        "POST", lambda s: f"/manage/surveys/{s['survey']}/remind", only(Role.HR, ok=303)
    ),
    # the sample survey is open: its results, as a file too, wait until it closes (409)
    "surveys.results_file": Route(
        "GET", lambda s: f"/manage/surveys/{s['survey']}/results.csv", only(Role.HR, ok=409)
    ),
    "surveys.mine": Route("GET", lambda s: "/surveys", SIGNED_IN),
    "surveys.answer": Route("GET", lambda s: f"/surveys/{s['survey']}", SIGNED_IN),
    "recognition.award_list": Route("GET", lambda s: "/awards", SIGNED_IN),
    "recognition.nominate": Route("GET", lambda s: "/awards/nominate", only(Role.MANAGER)),
    # anyone's own: a former manager's nominations are still decided
    "recognition.my_nominations": Route("GET", lambda s: "/awards/nominations", SIGNED_IN),
    "recognition.withdraw_nomination": Route(
        "POST", lambda s: f"/awards/nominations/{s['nomination']}/withdraw", only(ok=404)
    ),
    "recognition.manage_awards": Route("GET", lambda s: "/manage/awards", HR),
    "recognition.create_award": Route("GET", lambda s: "/manage/awards/new", HR),
    "recognition.edit_award": Route("GET", lambda s: f"/manage/awards/{s['award']}/edit", HR),
    "recognition.nominations": Route("GET", lambda s: "/manage/nominations", HR),
    "recognition.approve_nomination": Route(
        "POST",
        lambda s: f"/manage/nominations/{s['nomination']}/approve",
        only(Role.HR, ok=303),
    ),
    "recognition.decline_nomination": Route(
        "POST",
        lambda s: f"/manage/nominations/{s['nomination']}/decline",
        only(Role.HR, ok=303),
        {"reason": "route table"},
    ),
    "recognition.fairness_report": Route("GET", lambda s: "/manage/fairness", HR),
    "recognition.fairness_csv": Route("GET", lambda s: "/manage/fairness.csv", HR),
    # Kudos and points: everyone's own (no person's id in any URL); a perk not priced in
    # points is no reward: 404. HR sets the allowances, the per-pair limit and the values.
    # Feedback: a sender sees only their own named items (404 for anyone else, admins
    # included); a follow-up link opens its anonymous item for whoever holds it; an owner
    # sees only the items addressed to them (the sample is HR's: no department owner)
    "feedback.mine": Route("GET", lambda s: "/feedback", SIGNED_IN),
    "feedback.send": Route("GET", lambda s: "/feedback/new", SIGNED_IN),
    "feedback.mine_item": Route("GET", lambda s: f"/feedback/{s['feedback']}", only(ok=404)),
    "feedback.mine_reply": Route(
        "POST", lambda s: f"/feedback/{s['feedback']}/reply", only(ok=404), {"text": "Thanks"}
    ),
    "feedback.mine_rate": Route(
        "POST", lambda s: f"/feedback/{s['feedback']}/rate", only(ok=404), {"rating": "5"}
    ),
    "feedback.mine_close": Route(
        "POST", lambda s: f"/feedback/{s['feedback']}/close", only(ok=404)
    ),
    "feedback.follow_up": Route(
        "GET", lambda s: f"/feedback/follow-up/{s['feedback_secret']}", SIGNED_IN
    ),
    "feedback.follow_up_reply": Route(
        "POST",
        lambda s: f"/feedback/follow-up/{s['feedback_secret']}/reply",
        only(ok=302),
        {"text": "More"},
    ),
    "feedback.follow_up_rate": Route(
        "POST",
        lambda s: f"/feedback/follow-up/{s['feedback_secret']}/rate",
        only(ok=302),
        {"rating": "4"},
    ),
    "feedback.follow_up_close": Route(
        "POST", lambda s: f"/feedback/follow-up/{s['feedback_secret']}/close", only(ok=302)
    ),
    "feedback.inbox_page": Route("GET", lambda s: "/feedback/inbox", SIGNED_IN),
    "feedback.inbox_item": Route(
        "GET",
        lambda s: f"/feedback/inbox/{s['feedback']}",
        {**only(ok=404), "hr": 200, "admin": 200},
    ),
    "feedback.owner_step": Route(
        "POST",
        lambda s: f"/feedback/inbox/{s['feedback']}/acknowledge",
        {**only(ok=404), "hr": 302, "admin": 302},
    ),
    "feedback.answer_times": Route("GET", lambda s: "/feedback/answer-times", SIGNED_IN),
    "feedback.desks": Route("GET", lambda s: "/manage/feedback", HR),
    "feedback.edit_desk": Route("GET", lambda s: f"/manage/feedback/{s['department']}", HR),
    "points.mine": Route("GET", lambda s: "/points", SIGNED_IN),
    "points.give": Route("GET", lambda s: "/kudos/new", SIGNED_IN),
    "points.rewards": Route("GET", lambda s: "/rewards", SIGNED_IN),
    "points.spend": Route("POST", lambda s: f"/rewards/{s['perk']}/spend", only(ok=404)),
    "points.settings": Route("GET", lambda s: "/manage/points", HR),
    "points.create_value": Route("GET", lambda s: "/manage/points/values/new", HR),
    "points.edit_value": Route("GET", lambda s: f"/manage/points/values/{s['value']}/edit", HR),
    # Storefront: public; a missing slug is a 404 for everybody
    "shop.index": Route("GET", lambda s: "/shop/", everyone(200)),
    "shop.category": Route("GET", lambda s: f"/shop/c/{s['category']}", everyone(200)),
    "shop.product": Route("GET", lambda s: f"/shop/p/{s['product']}", everyone(200)),
    # The cart: public, in the session; a product not in the cart is a 404 for everybody
    "shop.cart_page": Route("GET", lambda s: "/shop/cart", everyone(200)),
    "shop.add_to_cart": Route(
        "POST",
        lambda s: "/shop/cart/add",
        everyone(303),
        {"product": "route-table", "quantity": "1"},
    ),
    "shop.update_cart_line": Route(
        "POST", lambda s: f"/shop/cart/{s['product_id']}/quantity", everyone(404), {"quantity": "1"}
    ),
    "shop.remove_from_cart": Route(
        "POST", lambda s: f"/shop/cart/{s['product_id']}/remove", everyone(303)
    ),
    "shop.clear_cart": Route("POST", lambda s: "/shop/cart/clear", everyone(303)),
    # Checkout: an empty cart goes back to the cart page, for everybody
    "shop.checkout_page": Route("GET", lambda s: "/shop/checkout", everyone(303)),
    "shop.place_order": Route("POST", lambda s: "/shop/checkout", everyone(303)),
    # A customer's order: by its secret token, for whoever has it; QR codes once paid
    "shop.order": Route("GET", lambda s: f"/shop/orders/{s['order_token']}", everyone(200)),
    "shop.order_status": Route(
        "GET", lambda s: f"/shop/orders/{s['order_token']}/status", everyone(200)
    ),
    "shop.order_qr_png": Route(
        "GET", lambda s: f"/shop/orders/{s['order_token']}/qr.png", everyone(200)
    ),
    "shop.order_qr_svg": Route(
        "GET", lambda s: f"/shop/orders/{s['order_token']}/qr.svg", everyone(200)
    ),
    "shop.order_cancelled": Route(
        "GET", lambda s: f"/shop/orders/{s['pending_order_token']}/cancelled", everyone(200)
    ),
    # Referral stats: everyone's own links; another person's link is a 404 for everybody
    "referral_stats.my_links": Route("GET", lambda s: "/stats/links", SIGNED_IN),
    "referral_stats.link": Route("GET", lambda s: f"/stats/links/{s['link']}", only(ok=404)),
    "referral_stats.team": Route("GET", lambda s: "/stats/team", only(Role.MANAGER)),
    "referral_stats.company": Route("GET", lambda s: "/stats/company", only(Role.FINANCE)),
    "referral_stats.fraud": Route("GET", lambda s: "/finance/fraud", only(Role.FINANCE)),
    # Referral links: everyone's own; another person's link is a 404 for everybody
    "referrals.my_links": Route("GET", lambda s: "/links", SIGNED_IN),
    "referrals.make_default_link": Route("POST", lambda s: "/links/default", only(ok=302)),
    "referrals.new_link": Route("GET", lambda s: "/links/new", SIGNED_IN),
    "referrals.share": Route("GET", lambda s: f"/links/{s['link']}", only(ok=404)),
    "referrals.qr_png": Route("GET", lambda s: f"/links/{s['link']}/qr.png", only(ok=404)),
    "referrals.qr_svg": Route("GET", lambda s: f"/links/{s['link']}/qr.svg", only(ok=404)),
    "referrals.pause": Route("POST", lambda s: f"/links/{s['link']}/pause", only(ok=404)),
    "referrals.resume": Route("POST", lambda s: f"/links/{s['link']}/resume", only(ok=404)),
    # Commissions: everyone's own earnings; finance's lists, adjustments and rules
    "commissions.my_earnings": Route("GET", lambda s: "/earnings", SIGNED_IN),
    "commissions.rules": Route("GET", lambda s: "/earnings/rules", SIGNED_IN),
    # every version of the perks', commission rules' and gift programmes' rules
    "rules.history": Route("GET", lambda s: "/rules/history", SIGNED_IN),
    "commissions_finance.index": Route("GET", lambda s: "/finance/commissions", FINANCE),
    "commissions_finance.flagged": Route("GET", lambda s: "/finance/commissions/flagged", FINANCE),
    "commissions_finance.adjustments": Route(
        "GET", lambda s: "/finance/commissions/adjustments", FINANCE
    ),
    "commissions_finance.rules": Route("GET", lambda s: "/finance/commission-rules", FINANCE),
    "commissions_finance.create_rule": Route(
        "GET", lambda s: "/finance/commission-rules/new", FINANCE
    ),
    "commissions_finance.revise_rule": Route(
        "GET", lambda s: f"/finance/commission-rules/{s['commission_rule']}/revise", FINANCE
    ),
    "commissions_finance.end_rule": Route(
        "POST",
        lambda s: f"/finance/commission-rules/{s['commission_rule']}/end",
        only(Role.FINANCE, ok=302),
        {"last_day": "2099-12-31"},
    ),
    # named groups commission rules may target, and the returning-customer setting
    "commissions_finance.groups_index": Route(
        "GET", lambda s: "/finance/commission-groups", FINANCE
    ),
    "commissions_finance.group": Route(
        "GET", lambda s: f"/finance/commission-groups/{s['commission_group']}", FINANCE
    ),
    "commissions_finance.remove_member": Route(
        "POST",
        lambda s: (
            f"/finance/commission-groups/{s['commission_group']}/members/{s['person']}/remove"
        ),
        only(Role.FINANCE, ok=302),
    ),
    "commissions_finance.returning_customers": Route(
        "GET", lambda s: "/finance/returning-customers", FINANCE
    ),
    # Finance: reports, exports, payout batches, reconciliation (finance and admins only)
    "finance.reports_page": Route("GET", lambda s: "/finance/reports", FINANCE),
    "finance.report_lines": Route("GET", lambda s: "/finance/reports/lines", FINANCE),
    "finance.exports_page": Route("GET", lambda s: "/finance/exports", FINANCE),
    "finance.export_file": Route("GET", lambda s: "/finance/exports/ledger.csv", FINANCE),
    # Making an export in the background (an empty one here): to its job's page
    "finance.prepare_export": Route(
        "POST", lambda s: "/finance/exports/ledger.csv", only(Role.FINANCE, ok=302)
    ),
    # The sample job is a people file's dry run, not an export
    "finance.export_job_file": Route(
        "GET", lambda s: f"/finance/exports/jobs/{s['job']}/file", only(Role.FINANCE, ok=404)
    ),
    "finance.payouts_page": Route("GET", lambda s: "/finance/payouts", FINANCE),
    # Nothing is owed: the draft is refused with a message, back to the list
    "finance.draft_batch": Route(
        "POST", lambda s: "/finance/payouts", only(Role.FINANCE, ok=302), {"cutoff": "2026-01-01"}
    ),
    "finance.batch_page": Route("GET", lambda s: f"/finance/payouts/{s['payout_batch']}", FINANCE),
    "finance.exclude_line": Route(
        "POST",
        lambda s: f"/finance/payouts/{s['payout_batch']}/lines/999999/exclude",
        only(Role.FINANCE, ok=404),
        {"reason": "route table"},
    ),
    # The sample draft has no line to pay: refused with a message, back to the batch
    "finance.approve_batch": Route(
        "POST",
        lambda s: f"/finance/payouts/{s['payout_batch']}/approve",
        only(Role.FINANCE, ok=302),
        {"row_version": "1"},
    ),
    "finance.mark_paid": Route(
        "POST",
        lambda s: f"/finance/payouts/{s['payout_batch']}/paid",
        only(Role.FINANCE, ok=302),
        {"payment_reference": "PAYROLL-1"},
    ),
    "finance.cancel_batch": Route(
        "POST",
        lambda s: f"/finance/payouts/{s['payout_batch']}/cancel",
        only(Role.FINANCE, ok=302),
        {"reason": "route table"},
    ),
    "finance.payroll_file": Route(
        "GET",
        lambda s: f"/finance/payouts/{s['payout_batch']}/payroll.csv",
        only(Role.FINANCE, ok=302),
    ),
    # Tax: only finance (and admins) see or change anyone's tax profile
    "finance_tax.tax_profiles": Route("GET", lambda s: "/finance/tax", FINANCE),
    "finance_tax.tax_profile": Route(
        "GET", lambda s: f"/finance/tax/people/{s['person']}", FINANCE
    ),
    "finance_tax.withholding_rates": Route("GET", lambda s: "/finance/tax/rates", FINANCE),
    # this year's, the year the sample payouts are paid in (tests/functional/
    # test_statements_per_page.py sees the summary grow with them; 2026's stopped growing
    # once 2027 began in the company's time zone)
    "finance_tax.withholding_summary": Route(
        "GET", lambda s: f"/finance/tax/withholding-{company_today().year}.csv", FINANCE
    ),
    "finance_tax.withholding_summary_form": Route(
        "GET",
        lambda s: f"/finance/tax/summary?year={company_today().year}&format=csv",
        only(Role.FINANCE, ok=302),
    ),
    "finance_tax.mappings": Route("GET", lambda s: "/finance/tax/mappings", FINANCE),
    "finance_tax.mapping": Route("GET", lambda s: "/finance/tax/mappings/new", FINANCE),
    # The sample batch is a draft: no file yet, back to the batch with a message
    "finance_tax.pay_file": Route(
        "GET",
        lambda s: f"/finance/payouts/{s['payout_batch']}/files/payroll.csv",
        only(Role.FINANCE, ok=302),
    ),
    "finance.reconciliation_page": Route("GET", lambda s: "/finance/reconciliation", FINANCE),
    # Leavers: the policy, who has left, closing a negative balance (finance and admins)
    "leavers.index": Route("GET", lambda s: "/finance/leavers/", FINANCE),
    "leavers.set_policy": Route(
        "POST", lambda s: "/finance/leavers/policy", only(Role.FINANCE, ok=302), {"policy": "vest"}
    ),
    # The sample person has not left: refused with a message on the page
    "leavers.close_balance": Route(
        "POST",
        lambda s: f"/finance/leavers/{s['person']}/close",
        only(Role.FINANCE, ok=400),
        {"currency": "VND", "amount": "-1000", "outcome": "write_off", "reason": "route table"},
    ),
    # The public redirect: the link's page for everyone, signed in or not
    "referrals.redirect": Route("GET", lambda s: f"/r/{s['link_code']}", everyone(302)),
    # Stripe's webhook: no session, no CSRF; an unsigned delivery is a 400 for everybody
    "payments.stripe_webhook": Route("POST", lambda s: "/stripe/webhook", everyone(400)),
    # The Stripe event log: finance and admins read it; only admins replay an event
    "payments.events": Route("GET", lambda s: "/admin/stripe-events", only(Role.FINANCE)),
    "payments.event": Route(
        "GET", lambda s: f"/admin/stripe-events/{s['stripe_event']}", only(Role.FINANCE)
    ),
    "payments.replay_event": Route(
        "POST",
        lambda s: f"/admin/stripe-events/{s['stripe_event']}/replay",
        only(Role.ADMIN, ok=302),
    ),
    # Product images: public, by their stored name; a name no product holds is a 404
    "shop_images.product_image": Route(
        "GET", lambda s: f"/shop/images/{'0' * 32}.png", everyone(404)
    ),
    # The shop's back office: products and categories for HR and finance, orders for finance
    "shop_admin.products": Route("GET", lambda s: "/manage/products", SHELVES),
    "shop_admin.create_product": Route("GET", lambda s: "/manage/products/new", SHELVES),
    "shop_admin.edit_product": Route(
        "GET", lambda s: f"/manage/products/{s['product_id']}/edit", SHELVES
    ),
    "shop_admin.deactivate_product": Route(
        "POST", lambda s: f"/manage/products/{s['product_id']}/deactivate", SHELVES_POST
    ),
    "shop_admin.reactivate_product": Route(
        "POST", lambda s: f"/manage/products/{s['product_id']}/reactivate", SHELVES_POST
    ),
    "shop_admin.categories": Route("GET", lambda s: "/manage/categories", SHELVES),
    "shop_admin.create_category": Route("GET", lambda s: "/manage/categories/new", SHELVES),
    "shop_admin.edit_category": Route(
        "GET", lambda s: f"/manage/categories/{s['category_id']}/edit", SHELVES
    ),
    "shop_admin.move_category": Route(
        "POST",
        lambda s: f"/manage/categories/{s['category_id']}/move",
        SHELVES_POST,
        {"direction": "down"},
    ),
    "shop_admin.orders": Route("GET", lambda s: "/manage/orders", only(Role.FINANCE)),
    "shop_admin.order": Route(
        "GET", lambda s: f"/manage/orders/{s['order_id']}", only(Role.FINANCE)
    ),
    # An empty refund form is refused (400) for finance; nobody else reaches it
    "shop_admin.refund_order": Route(
        "POST", lambda s: f"/manage/orders/{s['order_id']}/refund", only(Role.FINANCE, ok=400)
    ),
    # The order counter: redeemers (and admins); an unknown code is a 404
    "order_redeem.redeem": Route("GET", lambda s: "/redeem-order", only(Role.REDEEMER)),
    "order_redeem.mark_redeemed": Route(
        "POST", lambda s: "/redeem-order/redeem", only(Role.REDEEMER, ok=404), {"code": "NONE"}
    ),
    # Ratings: only the claim's owner or the order's buyer rates (anyone else's is a 404);
    # HR chooses the comments perks' pages show, the shop's keepers products'. The sample
    # rating is of a perk: finance (a keeper of products, not of perks) is refused
    "ratings.rate_claim": Route("GET", lambda s: f"/my-perks/{s['claim']}/rate", only(ok=404)),
    "ratings.rate_order": Route("GET", lambda s: f"/my-orders/{s['order_id']}/rate", only(ok=404)),
    "ratings.perk_comments": Route("GET", lambda s: "/manage/ratings", HR),
    "ratings.product_comments": Route("GET", lambda s: "/manage/ratings/products", SHELVES),
    "ratings.publish": Route(
        "POST", lambda s: f"/manage/ratings/{s['rating']}/publish", only(Role.HR, ok=303)
    ),
    "ratings.hide": Route(
        "POST", lambda s: f"/manage/ratings/{s['rating']}/hide", only(Role.HR, ok=303)
    ),
}
