"""A stored upload is read from the database a piece at a time: the plan is the same whatever
the pieces, lines and quoted cells cut across them included."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from perks.people import import_files, imports
from perks.people.import_plan import ImportPlan
from perks.people.models import Role
from tests.factories import UserFactory

TEXT = (
    "\ufeffemployee_number;email;name;location;manager_email\r\n"
    'NV1;hai@congty.vn;Nguyễn Đức Hải;"Tầng 3\r\nToà nhà A";\r\n'
    "\r\n"
    "NV2;an@congty.vn;Nguyễn Văn An;Hà Nội;hai@congty.vn\r"
    "NV3;binh@;Trần Thị Bình;Đà Nẵng;hai@congty.vn\n"
)


@pytest.fixture(autouse=True)
def _in_english(_app_context):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def summary(plan: ImportPlan) -> tuple[object, ...]:
    return (
        plan.total_rows,
        [(row.line, row.email, row.values.get("location")) for row in plan.rows],
        [(error.line, error.message) for error in plan.errors],
    )


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 50, 10_000])
def test_an_upload_read_in_pieces_plans_as_the_whole_text(app, monkeypatch, piece):
    upload = imports.store_upload(
        TEXT.encode(), filename="x.csv", actor=UserFactory(roles={Role.HR})
    )
    monkeypatch.setattr(import_files, "READ_PIECE", piece)

    in_pieces = imports.plan_import(import_files.stored_text(upload.id), actor=None)

    whole = imports.plan_import(TEXT, actor=None)
    assert summary(in_pieces) == summary(whole)
    assert summary(whole)[1][0] == (2, "hai@congty.vn", "Tầng 3\r\nToà nhà A")
    assert [error.line for error in whole.errors] == [6]


def test_a_nul_in_a_later_piece_refuses_the_file(app):
    pieces = ["email,name\n", "an@congty.vn,An\n", "b\x00@congty.vn,B\n"]
    plan = imports.plan_import(pieces, actor=None)
    assert [(e.line, e.message) for e in plan.errors] == [(1, "This is not a CSV file.")]
    assert plan.rows == []
