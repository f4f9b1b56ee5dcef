"""The glossary kept in the code says what the Vietnamese catalog says, and the words it
keeps apart stay apart: finance's words carry their own message context."""

from __future__ import annotations

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
