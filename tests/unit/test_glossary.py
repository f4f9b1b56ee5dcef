"""The glossary kept in the code says what the Vietnamese catalog says, and the words it
keeps apart stay apart: finance's words carry their own message context."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale, gettext

from perks import glossary
from perks.commissions.models import CommissionState


@pytest.fixture
def babel_app():
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(
        Path(glossary.__file__).parent / "translations"
    )
    Babel(app)
    with app.test_request_context():
        yield app


@pytest.mark.parametrize("name", sorted(glossary.TERMS))
def test_each_term_reads_in_vietnamese_as_the_glossary_says(babel_app, name):
    term = glossary.TERMS[name]
    with force_locale("vi"):
        assert str(term) == term.vietnamese
    with force_locale("en"):
        assert str(term) == term.label._args[1]  # the English the code is written in


def test_finance_words_keep_apart_from_the_everyday_ones(babel_app):
    with force_locale("vi"):
        # a customer "Paid" an order; the company "Paid" the employee's commission out
        assert gettext("Paid") != str(glossary.PAID)
        assert str(glossary.ENTRIES) == "Bút toán"
        assert gettext("Entries") == "Lượt đăng ký"  # draw entries


def test_commission_states_are_named_by_the_glossary(babel_app):
    with force_locale("vi"):
        assert [state.label for state in CommissionState] == [
            "Chờ xử lý",
            "Đã ghi nhận",
            "Có thể chi trả",
            "Đã chi trả",
            "Đã hủy",
            "Tạm giữ",
        ]


def test_a_term_is_escaped_in_templates(babel_app):
    term = glossary.Term(glossary.PAID.label, "Đã chi trả")
    assert term.__html__() == str(term)


def test_a_paid_payout_batch_reads_as_its_commissions_do(babel_app):
    """The company pays a batch out (đã chi trả), as it pays out the commissions in it; a
    customer pays an order (đã thanh toán). The batch said "Đã thanh toán" while its
    commissions said "Đã chi trả"."""
    from perks.finance.models import BatchStatus

    with force_locale("vi"):
        assert BatchStatus.PAID.label == glossary.PAID.vietnamese
        assert gettext("Mark paid") == "Đánh dấu đã chi trả"
    with force_locale("en"):
        assert BatchStatus.PAID.label == "Paid"


def _vietnamese_of(pattern: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) of every Vietnamese translation whose English matches ``pattern``."""
    from babel.messages.pofile import read_po

    po = Path(glossary.__file__).parent / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and re.search(pattern, ids[0], re.IGNORECASE):
            found += [(ids[0], string) for string in strings]
    return found


def test_a_batch_being_paid_is_said_in_finance_words_everywhere():
    """Marking a batch paid, an approved or paid batch, the batches paid in a year: the
    company pays out (chi trả), it does not pay an order (thanh toán)."""
    texts = _vietnamese_of(
        r"mark(ed|ing)? (it |the batch |a payout batch )?paid|paid batch|batch(es)? (is )?paid"
        r"|its batch is paid|approved or paid batch"
    )
    assert len(texts) >= 8
    wrong = [(msgid, text) for msgid, text in texts if re.search(r"thanh toán", text)]
    assert not wrong, wrong


def test_a_commission_state_is_named_as_its_label_in_running_text(babel_app):
    """A page, e-mail or export that names a commission's state names it as the state's
    badge does: "payable" is "có thể chi trả", "paid" is "đã chi trả"."""
    with force_locale("vi"):
        labels = [state.label.lower() for state in CommissionState]
        states = gettext("pending, earned, payable, paid, voided or on_hold (now).")
    for label in labels:
        assert f"({label})" in states, (label, states)
    wrong = [
        (msgid, text)
        for msgid, text in _vietnamese_of(r"payable|pending|voided")
        if re.search(r"(trạng thái|bút toán) chờ chi trả|đã hủy bỏ\)", text)
    ]
    assert not wrong, wrong
