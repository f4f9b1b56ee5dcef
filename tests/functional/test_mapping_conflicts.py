"""Two finance people editing a pay file's column mapping: a save from a page opened before
the other's save is refused in the person's language, with nothing of it written, and the
form shows the mapping as it is now with what they had entered; a save from the mapping as it
is now works. On PostgreSQL, two saves from the same page racing: one is saved, the other
refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.extensions import db
from perks.finance import payfiles
from perks.finance.mapping_models import ExportMapping
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events
from tests.unit.finance.helpers import finance_person

SAVED = "finance.export_mapping_saved"
COLUMNS = "name = Họ tên\nnet = Số tiền"


def a_mapping() -> tuple[int, GuardedForm]:
    mapping = payfiles.save_mapping(None, "Vietcombank", "bank", COLUMNS, actor=finance_person())
    page = GuardedForm(
        f"/finance/tax/mappings/{mapping.id}",
        field="shown",
        audited=(SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=302,
    )
    return mapping.id, page


def mapping_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"name": "Vietcombank", "kind": "bank", "columns": COLUMNS}
    form.update(changes)
    return form


def stored(mapping_id: int) -> ExportMapping:
    db.session.expire_all()
    return payfiles.get_mapping(mapping_id)


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    mapping_id, page = a_mapping()
    first = signed_in(app, finance_person(name="Phạm Thu Hà"))
    second = signed_in(app, finance_person(locale="vi"))
    opened = page.opened(first, second)

    with_account = COLUMNS + "\naccount_number = Số tài khoản"
    page.saves(first, mapping_form(columns=with_account, shown=opened))
    refused = page.refuses(second, mapping_form(name="VCB", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    saved = stored(mapping_id)
    assert saved.name == "Vietcombank"
    assert [c["field"] for c in saved.columns] == ["name", "net", "account_number"]
    # the form shows the mapping as it is now, and what was entered that differs from it
    assert "account_number = Số tài khoản" in refused.html
    assert ">VCB<" in refused.entered

    page.saves(second, mapping_form(name="VCB", columns=with_account, shown=refused.version))
    saved = stored(mapping_id)
    assert saved.name == "VCB"
    assert len(saved.columns) == 3


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    mapping_id, page = a_mapping()
    refused = page.refuses_without_version(
        signed_in(app, finance_person()), mapping_form(name="VCB")
    )
    assert "open the mapping again" in refused.text
    assert stored(mapping_id).name == "Vietcombank"


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same mapping and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    mapping_id, page = a_mapping()
    emails = [finance_person().email, finance_person().email]
    before = audit_events(SAVED)

    def with_name(n: int, client: FlaskClient) -> dict[str, object]:
        return mapping_form(name=f"Bank {n}", shown=page.version_shown(client))

    saved = page.raced(app, emails, with_name)

    with app.app_context():
        assert payfiles.get_mapping(mapping_id).name == saved["name"]
        assert audit_events(SAVED) == before + 1
