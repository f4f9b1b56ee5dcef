"""P2 and P3: finance's commission export of 1,000,000 ledger rows, CSV then XLSX, on PostgreSQL.

    python -m bench.export [--rows N]

``--rows`` (default 1,000,000) seeds fewer entries for a quick run while developing (orders,
commissions and people scale with it); only the full size measures the targets.

Creates its own database on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates it, and seeds 1,000,000 ledger entries with
``INSERT ... SELECT generate_series`` (5,000 people in 20 departments, 200 products,
200,000 orders with one line and one commission each; entries of every kind, one in ten in
USD). Then, twice each, best time kept:

1. the baseline: ``COPY (the export's own query) TO STDOUT WITH CSV HEADER`` through psycopg,
   read to the end;
2. the CSV export: ``perks.finance.exports.stream_csv`` (the code the page and ``flask perks
   export`` run), its chunks thrown away, in a child process that reports its time and peak
   RSS (``getrusage``);
3. the XLSX export: ``perks.finance.exports.stream_xlsx`` (the code the page runs: the
   workbook streamed as it is written), its chunks thrown away, the same way, with the time
   to its first byte.

Targets (PERFORMANCE.md P2, P3): CSV ≤ 1.5× the COPY time with a peak RSS ≤ 150 MB; XLSX
≤ 2.5× the CSV time with a peak RSS ≤ 200 MB and its first byte within 1 s. Ends with
``export: ... PASS`` (or ``FAIL``, exiting 1).
The database is dropped afterwards, whatever happened.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from typing import TYPE_CHECKING

import psycopg
from flask import Flask

from bench.claims_contention import libpq, scratch_database
from perks import create_app

if TYPE_CHECKING:
    from perks.finance.reports import ReportFilter

NAME = "export"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS = 1_000_000
COMMISSIONS = 200_000
PEOPLE = 5_000
PRODUCTS = 200
DEPARTMENTS = 20
PERIOD = (date(2026, 1, 1), date(2026, 12, 31))
RUNS = 2
CSV_RATIO_TARGET = 1.5
CSV_RSS_TARGET_MB = 150
XLSX_RATIO_TARGET = 2.5
XLSX_RSS_TARGET_MB = 200
FIRST_BYTE_TARGET = 1.0


def make_app(url: str, **overrides: object) -> Flask:
    """The app on the scratch database; rate limits off, mail to the outbox."""
    return create_app(
        {
            "PERKS_ENV": "testing",
            # tasks go to the broker, as deployed ("testing" would run them in the request)
            "CELERY_ALWAYS_EAGER": False,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "outbox",
            "TRUSTED_HOSTS": None,
            **overrides,
        }
    )


def migrated_app(url: str, **overrides: object) -> Flask:
    """:func:`make_app`, its database migrated to the newest schema."""
    app = make_app(url, **overrides)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return app


def seed_statements(rows: int) -> list[str]:
    """The seed's statements for ``rows`` ledger entries (the rest in proportion)."""
    commissions = max(rows // 5, 1)
    people = max(rows // 200, 10)
    return [
        statement.replace("{COMMISSIONS}", str(commissions))
        .replace("{PEOPLE}", str(people))
        .replace("{ROWS}", str(rows))
        for statement in SEED
    ]


SEED = [
    """INSERT INTO department (name, created_at, updated_at)
        SELECT 'Phòng ' || n, now(), now() FROM generate_series(1, 20) AS n""",
    """INSERT INTO "user" (email, name, employee_number, department_id, location,
            employment_type, locale, active, session_token, hide_personal_dates,
            public_celebration, created_at,
            updated_at)
        SELECT 'person' || n || '@example.com', 'Nguyễn Văn ' || n, 'E' || lpad(n::text, 6, '0'),
            1 + n % 20, 'Hà Nội', 'staff', 'vi', true, md5(n::text), false, false,
            now(), now()
        FROM generate_series(1, {PEOPLE}) AS n""",
    """INSERT INTO product_category (slug, name_vi, name_en, position, created_at, updated_at)
        VALUES ('tours', 'Tour', 'Tours', 0, now(), now())""",
    """INSERT INTO product (slug, category_id, name_vi, name_en, description_vi,
            description_en, price_amount, currency, staff_discount_bps, redemption_mode,
            max_quantity_per_order, active, row_version, created_at, updated_at)
        SELECT 'p-' || n, 1, 'Sản phẩm ' || n, 'Product ' || n, '', '', 2400000, 'VND', 0,
            'counter', 10, true, 1, now(), now()
        FROM generate_series(1, 200) AS n""",
    """INSERT INTO referral_link (user_id, code, label, destination, is_default, paused,
            created_at, updated_at)
        SELECT n, 'L' || lpad(n::text, 8, '0'), '', 'storefront', true, false, now(), now()
        FROM generate_series(1, {PEOPLE}) AS n""",
    """INSERT INTO shop_order (number, token, redemption_code, status, customer_name,
            customer_email, customer_phone, locale, currency, subtotal_amount, discount_amount,
            total_amount, discount_kind, referral_link_id, attribution_reason,
            attribution_flagged, paid_at, paid_amount, closed_reason, refunded_amount,
            dispute_status, mismatch, created_at, updated_at)
        SELECT 'PK-' || lpad(n::text, 8, '0'), md5('t' || n), 'R' || lpad(n::text, 9, '0'),
            'redeemed', 'Khách ' || n, 'khach' || n || '@example.com', '', 'vi', 'VND',
            2400000, 0, 2400000, 'none', 1 + n % {PEOPLE}, 'cookie', false,
            timestamptz '2026-01-01' + (n % 360) * interval '1 day', 2400000, '', 0, 'none', '',
            timestamptz '2026-01-01' + (n % 360) * interval '1 day',
            timestamptz '2026-01-01' + (n % 360) * interval '1 day'
        FROM generate_series(1, {COMMISSIONS}) AS n""",
    """INSERT INTO order_line (order_id, product_id, product_name, quantity, unit_list_amount,
            unit_amount, line_total_amount)
        SELECT n, 1 + n % 200, 'Sản phẩm ' || (1 + n % 200), 1, 2400000, 2400000,
            2400000
        FROM generate_series(1, {COMMISSIONS}) AS n""",
    """INSERT INTO commission (order_line_id, order_id, user_id, referral_link_id, product_id,
            currency, base_amount, refunded_base_amount, quantity, rule_kind, rate_bps,
            original_amount, amount, earned_amount, reversed_amount, state, earned_at,
            payable_at, created_at, updated_at)
        SELECT n, n, 1 + n % {PEOPLE}, 1 + n % {PEOPLE}, 1 + n % 200, 'VND', 2400000, 0,
            1, 'percent', 1000, 240000, 240000, 240000, 0, 'payable',
            timestamptz '2026-01-02' + (n % 360) * interval '1 day',
            timestamptz '2026-01-16' + (n % 360) * interval '1 day',
            timestamptz '2026-01-01' + (n % 360) * interval '1 day',
            timestamptz '2026-01-01' + (n % 360) * interval '1 day'
        FROM generate_series(1, {COMMISSIONS}) AS n""",
    # One in ten entries in USD (cents); kinds in proportion: earn, reversal, adjustment, payout.
    """INSERT INTO ledger_entry (commission_id, user_id, kind, amount, currency, created_at,
            reason)
        SELECT CASE WHEN k IN ('earn', 'reversal') THEN 1 + n % {COMMISSIONS} END,
            1 + n % {PEOPLE}, k,
            CASE k WHEN 'earn' THEN 240000 WHEN 'reversal' THEN -120000
                WHEN 'adjustment' THEN 5000 + n % 1000 ELSE -240000 END,
            CASE WHEN n % 10 = 0 THEN 'USD' ELSE 'VND' END,
            timestamptz '2026-01-01' + (n % 364) * interval '1 day'
                + (n % 86400) * interval '1 second',
            CASE k WHEN 'earn' THEN 'redeemed' WHEN 'reversal' THEN 'refund'
                WHEN 'adjustment' THEN 'Điều chỉnh ' || n ELSE 'payout' END
        FROM (
            SELECT n, CASE WHEN n % 10 < 5 THEN 'earn' WHEN n % 10 < 7 THEN 'reversal'
                WHEN n % 10 < 9 THEN 'adjustment' ELSE 'payout' END AS k
            FROM generate_series(1, {ROWS}) AS n
        ) AS s""",
    "ANALYZE",
]


def seed(url: str, rows: int) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for statement in seed_statements(rows):
            conn.execute(statement)


def export_filter() -> ReportFilter:
    from perks.finance.periods import Period
    from perks.finance.reports import ReportFilter

    return ReportFilter(period=Period(*PERIOD))


def time_copy(app: Flask, url: str) -> tuple[float, int, int]:
    """COPY of the export's own query: seconds, bytes and lines read."""
    from perks.extensions import db
    from perks.finance import exports

    with app.app_context():
        query = exports.COMMISSIONS.query(export_filter(), in_database=True)
        compiled = query.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        sql, params = compiled.string, dict(compiled.params)
        zone = app.config["BABEL_DEFAULT_TIMEZONE"]
    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
        started = time.perf_counter()
        size = lines = 0
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER", params) as copy:
            for data in copy:
                size += len(data)
                lines += bytes(data).count(b"\n")
        return time.perf_counter() - started, size, lines


def child(kind: str, url: str) -> None:
    """Run one export in this process and print what it took (JSON)."""
    from perks.finance import exports

    app = make_app(url)
    with app.app_context():
        chosen = export_filter()
        size = lines = 0
        first_byte: float | None = None
        started = time.perf_counter()
        if kind == "csv":
            for chunk in exports.stream_csv(exports.COMMISSIONS, chosen, actor=None):
                size += len(chunk)
                lines += chunk.count(b"\r\n")
        else:
            rows = [1]  # the header

            def count(batch_rows: int) -> None:
                rows[0] += batch_rows

            for chunk in exports.stream_xlsx(
                exports.COMMISSIONS, chosen, actor=None, progress=count
            ):
                if first_byte is None and chunk:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
            lines = rows[0]
        elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {"seconds": elapsed, "bytes": size, "lines": lines, "peak_kb": peak_kb}
    print(json.dumps({**figures, "first_byte": first_byte}))


def run_child(kind: str, url: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", kind, url],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {kind} export failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(rows: int = ROWS) -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    print(f"{NAME}: load average {os.getloadavg()[0]:.2f} at the start; {os.cpu_count()} cores")
    with scratch_database(server) as url:
        app = migrated_app(url)
        started = time.perf_counter()
        seed(url, rows)
        print(f"seeded {rows:,} ledger entries in {time.perf_counter() - started:.1f} s")

        copies, csvs, xlsxs = [], [], []
        for run in range(1, RUNS + 1):
            seconds, size, lines = time_copy(app, url)
            copies.append(seconds)
            print(f"run {run}: COPY     {seconds:6.2f} s  {size / 1e6:7.1f} MB  {lines - 1:,} rows")
            result = run_child("csv", url)
            csvs.append(result)
            print(
                f"run {run}: CSV      {result['seconds']:6.2f} s  {result['bytes'] / 1e6:7.1f} MB  "
                f"{int(result['lines']) - 1:,} rows  peak RSS {result['peak_kb'] / 1024:.0f} MB"
            )
            result = run_child("xlsx", url)
            xlsxs.append(result)
            print(
                f"run {run}: XLSX     {result['seconds']:6.2f} s  {result['bytes'] / 1e6:7.1f} MB  "
                f"{int(result['lines']) - 1:,} rows  peak RSS {result['peak_kb'] / 1024:.0f} MB  "
                f"first byte {result['first_byte'] * 1000:.0f} ms"
            )
        load = os.getloadavg()[0]

    copy_time = min(copies)
    csv_time = min(r["seconds"] for r in csvs)
    xlsx_time = min(r["seconds"] for r in xlsxs)
    csv_rss = max(r["peak_kb"] for r in csvs) / 1024
    xlsx_rss = max(r["peak_kb"] for r in xlsxs) / 1024
    first_byte = max(r["first_byte"] for r in xlsxs)
    csv_rows = {int(r["lines"]) - 1 for r in csvs}
    xlsx_rows = {int(r["lines"]) - 1 for r in xlsxs}
    csv_ratio = csv_time / copy_time
    xlsx_ratio = xlsx_time / csv_time
    print(f"load average {load:.2f} at the end")
    print(
        f"CSV  {csv_time:.2f} s vs COPY {copy_time:.2f} s: {csv_ratio:.2f}x "
        f"(target <= {CSV_RATIO_TARGET}); peak RSS {csv_rss:.0f} MB (<= {CSV_RSS_TARGET_MB})"
    )
    print(
        f"XLSX {xlsx_time:.2f} s vs CSV {csv_time:.2f} s: {xlsx_ratio:.2f}x "
        f"(target <= {XLSX_RATIO_TARGET}); peak RSS {xlsx_rss:.0f} MB (<= {XLSX_RSS_TARGET_MB}); "
        f"first byte after {first_byte * 1000:.0f} ms (<= {FIRST_BYTE_TARGET * 1000:.0f})"
    )
    ok = (
        csv_ratio <= CSV_RATIO_TARGET
        and csv_rss <= CSV_RSS_TARGET_MB
        and xlsx_ratio <= XLSX_RATIO_TARGET
        and xlsx_rss <= XLSX_RSS_TARGET_MB
        and first_byte <= FIRST_BYTE_TARGET
        and csv_rows == {rows}
        and xlsx_rows == {rows}
        and rows == ROWS  # a smaller run is a rehearsal, never a PASS
    )
    verdict = "PASS" if ok else "FAIL"
    print(
        f"{NAME}: CSV {csv_ratio:.2f}x COPY, {csv_rss:.0f} MB; XLSX {xlsx_ratio:.2f}x CSV, "
        f"{xlsx_rss:.0f} MB, first byte {first_byte:.2f} s (targets <= {CSV_RATIO_TARGET}x, "
        f"{CSV_RSS_TARGET_MB} MB; <= {XLSX_RATIO_TARGET}x, {XLSX_RSS_TARGET_MB} MB, "
        f"<= {FIRST_BYTE_TARGET:.0f} s; {rows:,} rows of {ROWS:,}) {verdict}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "--rows":
        sys.exit(main(int(sys.argv[2])))
    else:
        sys.exit(main())
