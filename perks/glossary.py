"""The product's words for money, kept in the code: each term's label and the Vietnamese a
finance team uses at work (../shared/design/GLOSSARY.md).

Finance's pages, reports and states read their words from here, so that a column says the
same thing on every page and export. Each label has the message context ``finance``, apart
from the everyday word: "Entries" here are ledger entries (bút toán), not draw entries, and a
commission that is "Paid" was paid out to the employee (đã chi trả), not paid by a customer.
``tests/unit/test_glossary.py`` checks that the Vietnamese catalog says exactly what each
term's ``vietnamese`` says.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString, lazy_pgettext


@dataclass(frozen=True)
class Term:
    """A word of the glossary: its label (translated when shown) and its Vietnamese."""

    label: LazyString
    vietnamese: str

    def __str__(self) -> str:
        return str(self.label)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self.label)))


COMMISSION = Term(lazy_pgettext("finance", "Commission"), "Hoa hồng")
COMMISSIONS = Term(lazy_pgettext("finance", "Commissions"), "Hoa hồng")
# a commission's states
PENDING = Term(lazy_pgettext("finance", "Pending"), "Chờ xử lý")
EARNED = Term(lazy_pgettext("finance", "Earned"), "Đã ghi nhận")
PAYABLE = Term(lazy_pgettext("finance", "Payable"), "Có thể chi trả")
PAID = Term(lazy_pgettext("finance", "Paid"), "Đã chi trả")
VOIDED = Term(lazy_pgettext("finance", "Voided"), "Đã hủy")
ON_HOLD = Term(lazy_pgettext("finance", "On hold"), "Tạm giữ")
# the ledger and its reports
LEDGER = Term(lazy_pgettext("finance", "Ledger"), "Sổ cái")
ENTRIES = Term(lazy_pgettext("finance", "Entries"), "Bút toán")
TAKEN_BACK = Term(lazy_pgettext("finance", "Taken back"), "Đã thu hồi")
ADJUSTMENTS = Term(lazy_pgettext("finance", "Adjustments"), "Điều chỉnh")
NET_COMMISSIONS = Term(lazy_pgettext("finance", "Net commissions"), "Hoa hồng ròng")
PAID_OUT = Term(lazy_pgettext("finance", "Paid out"), "Đã chi trả")
BALANCE_CHANGE = Term(lazy_pgettext("finance", "Balance change"), "Biến động số dư")
CURRENCY = Term(lazy_pgettext("finance", "Currency"), "Tiền tệ")
HOLDING_PERIOD = Term(lazy_pgettext("finance", "Holding period"), "Thời gian tạm giữ")
PAYOUT_BATCH = Term(lazy_pgettext("finance", "Payout batch"), "Đợt chi trả")
RECONCILIATION = Term(lazy_pgettext("finance", "Reconciliation"), "Đối soát")
PAYROLL = Term(lazy_pgettext("finance", "Payroll"), "Bảng lương")
CLAWBACK = Term(lazy_pgettext("finance", "Clawback"), "Thu hồi")
REFUND = Term(lazy_pgettext("finance", "Refund"), "Hoàn tiền")

#: every term, for the test that reads them against the catalog
TERMS: dict[str, Term] = {name: term for name, term in globals().items() if isinstance(term, Term)}
