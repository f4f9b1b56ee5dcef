"""Finance pages: the commission report and its lines, exports, payout batches and
reconciliation. Finance and admins only; every action is audited by the service it calls.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import NotFound as HttpNotFound
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from perks.commissions.charts import earnings_chart
from perks.errors import ChangedMeanwhile, PerksError, ValidationFailed
from perks.finance import (
    exports,
    leavers,
    payfiles,
    payouts,
    payroll,
    queries,
    reconciliation,
    reports,
)
from perks.finance.forms import (
    ApproveForm,
    CancelBatchForm,
    DraftBatchForm,
    ExcludeLineForm,
    MarkPaidForm,
    ReconcileForm,
    ReportForm,
)
from perks.finance.models import BatchStatus, LineStatus
from perks.finance.periods import current_month, custom_period
from perks.forms import ConfirmForm, page_arg, require_confirmation
from perks.i18n import company_today
from perks.payments import stripe_gateway
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("finance", __name__, url_prefix="/finance")

finance_only = roles_required(Role.FINANCE)
Page = str | tuple[str, int]
#: the back office's page of one order, in the order they are tried (the first that exists)
ORDER_PAGE_ENDPOINTS = ("shop_admin.order_detail", "shop_admin.order")


def _locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _report_form() -> ReportForm:
    choices = reports.filter_choices(current_app.config["DEFAULT_CURRENCY"])
    return ReportForm(
        request.args,
        today=company_today(),
        currencies=choices.currencies,
        departments=choices.departments,
        products=choices.products,
    )


def _chosen(form: ReportForm) -> reports.ReportFilter | None:
    """The form's filter, or None with the form's errors filled in."""
    if request.args and not form.validate():
        return None
    try:
        return form.to_filter()
    except ValidationFailed as error:
        form.form_errors.append(error.message)
        return None


def report_chart(data: reports.ChartData) -> Markup:
    return earnings_chart(
        data.labels,
        currency=data.currency,
        earned=data.earned,
        taken_back=data.taken_back,
        paid_out=data.paid_out,
        title=_("Commissions over time (%(currency)s)", currency=data.currency),
        ident="commission-chart",
        empty_text=_("No ledger entries in this period."),
    )


# --- reports -------------------------------------------------------------------------------------


@bp.get("/reports")
@finance_only
def reports_page() -> Page:
    form = _report_form()
    chosen = _chosen(form)
    if chosen is None:
        return render_template("finance/reports.html", form=form, report=None), 400
    grouping = form.group.data if form.group.data in reports.GROUPINGS else "person"
    report = reports.commission_report(chosen, grouping, page=page_arg())
    currency = reports.chart_currency(report, current_app.config["DEFAULT_CURRENCY"])
    return render_template(
        "finance/reports.html",
        form=form,
        report=report,
        chart=report_chart(reports.chart_data(chosen, currency)),
        filter_args=chosen.as_args(),
        groupings=reports.GROUPINGS,
    )


@bp.get("/reports/lines")
@finance_only
def report_lines() -> Page:
    form = _report_form()
    chosen = _chosen(form)
    if chosen is None:
        return render_template("finance/report_lines.html", form=form, page=None), 400
    return render_template(
        "finance/report_lines.html",
        form=form,
        page=queries.lines_page(chosen, page_arg(), _locale()),
        sums=reports.ledger_sums(chosen),
        filter_args=chosen.as_args(),
        columns=exports.COMMISSIONS.header,
    )


# --- exports -------------------------------------------------------------------------------------


@bp.get("/exports")
@finance_only
def exports_page() -> Page:
    form = _report_form()
    chosen = _chosen(form)
    if chosen is None:
        return _exports_page(form, None), 400
    return _exports_page(form, chosen.as_args()), 200


def _exports_page(form: Any, filter_args: dict[str, str] | None) -> str:
    """The exports page; ``filter_args`` None: the filter is refused, so no file is offered
    (as on the report's pages: a file of another filter would be taken for the one asked)."""
    return render_template(
        "finance/exports.html",
        form=form,
        filter_args=filter_args,
        exports=exports.EXPORTS,
        columns_doc=exports.columns_doc(),
        jobs=exports.recent_jobs(current_user),
        background_rows=current_app.config["EXPORT_BACKGROUND_ROWS"],
    )


def _export_and_filter(name: str, file_format: str) -> tuple[Any, Any, Any]:
    export = exports.EXPORTS.get(name)
    if export is None or file_format not in exports.FORMATS:
        raise HttpNotFound()
    form = _report_form()
    return export, form, _chosen(form)


def _large_export_page(export: Any, file_format: str, size: exports.Size, chosen: Any) -> str:
    """The page that offers to make a large export in the background, or, for a spreadsheet
    longer than a sheet holds, the CSV instead."""
    return render_template(
        "finance/export_large.html",
        export=export,
        file_format=file_format,
        size=size,
        xlsx_max_rows=exports.XLSX_MAX_ROWS,
        filter_args=chosen.as_args(),
        confirm_form=ConfirmForm(),
        background_rows=current_app.config["EXPORT_BACKGROUND_ROWS"],
    )


@bp.get("/exports/<name>.<file_format>")
@finance_only
def export_file(name: str, file_format: str) -> Response | Page:
    """The export, streamed; above ``EXPORT_BACKGROUND_ROWS`` rows, a page that offers to make
    it in the background (a GET starts nothing)."""
    export, form, chosen = _export_and_filter(name, file_format)
    if chosen is None:
        return _exports_page(form, None), 400
    size = exports.size_of(export, chosen)
    if size.in_background or (file_format == "xlsx" and not size.fits_a_sheet):
        return _large_export_page(export, file_format, size, chosen)
    actor, locale = current_user._get_current_object(), _locale()
    if file_format == "csv":
        body: Iterator[bytes] = exports.stream_csv(export, chosen, actor=actor, locale=locale)
    else:
        body = exports.stream_xlsx(export, chosen, actor=actor, locale=locale)
    return _download(
        body, exports.MIMETYPES[file_format], exports.file_name(export, chosen, file_format)
    )


@bp.post("/exports/<name>.<file_format>")
@finance_only
def prepare_export(name: str, file_format: str) -> Response | Page:
    """Make the export in the background; its page offers the file when it is ready."""
    export, form, chosen = _export_and_filter(name, file_format)
    if chosen is None:
        return _exports_page(form, None), 400
    require_confirmation()
    if file_format == "xlsx" and not (size := exports.size_of(export, chosen)).fits_a_sheet:
        return _large_export_page(export, file_format, size, chosen), 400
    job = exports.start_export(
        export, chosen, file_format, actor=current_user._get_current_object(), locale=_locale()
    )
    return redirect(url_for("background.job_page", token=job.token))


@bp.get("/exports/jobs/<token>/file")
@finance_only
def export_job_file(token: str) -> Response:
    """A background export's file, streamed from the database; audited like a download."""
    actor = current_user._get_current_object()
    job = exports.export_job(token, actor=actor, sees_all=actor.has_role(Role.ADMIN))
    name = (job.file or {}).get("name") or "export"
    return _download(
        exports.stream_job_file(job, actor=actor), exports.MIMETYPES[job.payload["format"]], name
    )


def _download(body: Iterator[bytes], mimetype: str, filename: str) -> Response:
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- payout batches ------------------------------------------------------------------------------


@bp.get("/payouts")
@finance_only
def payouts_page() -> str:
    page_number = page_arg()
    page = queries.batches_page(page_number)
    form = DraftBatchForm()
    if not form.cutoff.data:
        form.cutoff.data = company_today()
    return render_template(
        "finance/payouts.html",
        page=page,
        totals=queries.totals_of_batches([b.id for b in page.items]),
        form=form,
    )


@bp.post("/payouts")
@finance_only
def draft_batch() -> Response:
    form = DraftBatchForm()
    if not form.validate_on_submit():
        flash(_("Choose the cut-off day."), "danger")
        return redirect(url_for(".payouts_page"))
    try:
        batch = payouts.draft_batch(form.cutoff.data, actor=current_user)
    except PerksError as error:
        flash(error.message, "danger")
        return redirect(url_for(".payouts_page"))
    flash(
        _(
            "Batch %(reference)s is drafted: another finance person approves it.",
            reference=batch.reference,
        ),
        "success",
    )
    return redirect(url_for(".batch_page", batch_id=batch.id))


@bp.get("/payouts/<int:batch_id>")
@finance_only
def batch_page(batch_id: int) -> str:
    return _batch_page(batch_id)


def _batch_page(batch_id: int) -> str:
    """The batch as it is now; its approve form carries the row version it shows (never the
    one a refused request sent)."""
    batch = queries.get_batch(batch_id)
    lines = queries.lines_of(batch.id)
    return render_template(
        "finance/batch.html",
        batch=batch,
        paying=payouts.paying_job(batch.id),
        lines=lines,
        leaver_marks=leavers.settlement_marks(lines, batch),
        entries=queries.entries_by_line(batch.id),
        totals=queries.batch_totals(lines),
        # before the payment: what it would withhold and pay today, for the approver to see
        estimate=(
            payfiles.estimate(batch, lines)
            if batch.status in (BatchStatus.DRAFT, BatchStatus.APPROVED)
            else None
        ),
        # paid: what was withheld and paid, as stored (the files' and the ledger's figures)
        paid_totals=(
            payfiles.estimate(batch, lines).totals if batch.status is BatchStatus.PAID else {}
        ),
        statuses=BatchStatus,
        line_statuses=LineStatus,
        may_approve=batch.status is BatchStatus.DRAFT and batch.drafted_by_id != current_user.id,
        exclude_form=ExcludeLineForm(),
        approve_form=ApproveForm(formdata=None, row_version=str(batch.row_version)),
        paid_form=MarkPaidForm(),
        cancel_form=CancelBatchForm(),
        pay_mappings=(
            payfiles.mappings() if batch.status in (BatchStatus.APPROVED, BatchStatus.PAID) else []
        ),
    )


def _back_to(batch_id: int) -> Response:
    return redirect(url_for(".batch_page", batch_id=batch_id))


@bp.post("/payouts/<int:batch_id>/lines/<int:line_id>/exclude")
@finance_only
def exclude_line(batch_id: int, line_id: int) -> Response:
    form = ExcludeLineForm()
    if not form.validate_on_submit():
        queries.get_batch(batch_id)
        flash(_("Say why the line is left out."), "danger")
        return _back_to(batch_id)
    try:
        line = payouts.exclude_line(batch_id, line_id, form.reason.data or "", actor=current_user)
    except PerksError as error:
        if error.status_code == 404:
            raise
        flash(error.message, "danger")
    else:
        flash(_("%(name)s is left out of this batch.", name=line.user.name), "success")
    return _back_to(batch_id)


@bp.post("/payouts/<int:batch_id>/approve")
@finance_only
def approve_batch(batch_id: int) -> Response | Page:
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            payouts.approve_batch(
                batch_id, actor=current_user, expected_row_version=int(form.row_version.data)
            )
        except ChangedMeanwhile as error:
            # the batch as it is now, with what changed since the page was opened: approving
            # it again is a decision made on what is there
            flash(error.message, "danger")
            return _batch_page(batch_id), error.status_code
        except PerksError as error:
            if error.status_code == 404:
                raise
            flash(error.message, "danger")
        else:
            flash(_("The batch is approved. Export it for payroll, then mark it paid."), "success")
    elif form.row_version.errors:
        flash(_("This page is out of date: open the batch again."), "danger")
        return _batch_page(batch_id), 400
    return _back_to(batch_id)


@bp.post("/payouts/<int:batch_id>/paid")
@finance_only
def mark_paid(batch_id: int) -> Response:
    form = MarkPaidForm()
    if not form.validate_on_submit():
        queries.get_batch(batch_id)
        flash(_("Enter the payment's reference (payroll run or transfer)."), "danger")
        return _back_to(batch_id)
    try:
        job = payouts.start_marking_paid(
            batch_id, form.payment_reference.data or "", actor=current_user
        )
    except PerksError as error:
        if error.status_code == 404:
            raise
        flash(error.message, "danger")
        return _back_to(batch_id)
    return redirect(url_for("background.job_page", token=job.token))


@bp.post("/payouts/<int:batch_id>/cancel")
@finance_only
def cancel_batch(batch_id: int) -> Response:
    form = CancelBatchForm()
    if not form.validate_on_submit():
        queries.get_batch(batch_id)
        flash(_("Say why the batch is cancelled."), "danger")
        return _back_to(batch_id)
    try:
        payouts.cancel_batch(batch_id, form.reason.data or "", actor=current_user)
    except PerksError as error:
        if error.status_code == 404:
            raise
        flash(error.message, "danger")
    else:
        flash(_("The batch is cancelled; its entries go to the next batch."), "success")
    return _back_to(batch_id)


@bp.get("/payouts/<int:batch_id>/payroll.<file_format>")
@finance_only
def payroll_file(batch_id: int, file_format: str) -> Response:
    if file_format not in exports.FORMATS:
        raise HttpNotFound()
    spool = tempfile.TemporaryFile(prefix="perks-payroll-")  # noqa: SIM115  closed by send()
    try:
        name = payroll.payroll_file(batch_id, file_format, spool, actor=current_user)
    except PerksError as error:
        spool.close()
        if error.status_code == 404:
            raise
        flash(error.message, "danger")
        return _back_to(batch_id)
    spool.seek(0)

    def send() -> Iterator[bytes]:
        try:
            while piece := spool.read(exports.SEND_CHUNK):
                yield piece
        finally:
            spool.close()

    return _download(send(), exports.MIMETYPES[file_format], name)


# --- reconciliation ------------------------------------------------------------------------------


def order_link(order_id: int | None) -> str | None:
    """The back office's page of an order, when the app has one."""
    if order_id is None:
        return None
    for endpoint in ORDER_PAGE_ENDPOINTS:
        try:
            return url_for(endpoint, order_id=order_id)
        except BuildError:
            continue
    return None


@bp.get("/reconciliation")
@finance_only
def reconciliation_page() -> Page:
    form = ReconcileForm(request.args)
    month = current_month()
    if not form.start.data:
        form.start.data = month.start
    if not form.end.data:
        form.end.data = month.end
    result: reconciliation.Reconciliation | None = None
    status = 200
    stripe_error = None
    try:
        if request.args and not form.validate():
            raise ValidationFailed(_("Enter the first and the last day."))
        period = custom_period(form.start.data, form.end.data)
        sessions: Any = None
        refunds: Any = None
        if form.stripe.data == "1":
            # both lists within the bound of one call: the page holds a worker no longer
            deadline = time.monotonic() + stripe_gateway.call_time_bound()
            try:
                sessions = list(
                    stripe_gateway.list_checkout_sessions(
                        period.start_at, period.end_at, within=deadline - time.monotonic()
                    )
                )
                refunds = list(
                    stripe_gateway.list_refunds(period.start_at, within=deadline - time.monotonic())
                )
            except stripe_gateway.PaymentProviderError as error:
                stripe_error = error.message
                sessions = refunds = None
        result = reconciliation.reconcile(period, stripe_sessions=sessions, stripe_refunds=refunds)
    except ValidationFailed as error:
        form.form_errors.append(error.message)
        status = 400
    page = render_template(
        "finance/reconciliation.html",
        form=form,
        result=result,
        stripe_error=stripe_error,
        order_link=order_link,
        kinds=reconciliation.KINDS,
    )
    return page, status
