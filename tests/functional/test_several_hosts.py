"""Two hosts: two gunicorn instances on two ports sharing PostgreSQL and Redis, one Celery
worker and Celery beat, as production runs them. Nothing may live on one host alone."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from perks.commissions import lifecycle
from perks.commissions.models import Commission, CommissionState
from perks.extensions import db
from perks.people.models import Role, User
from perks.shop.models import Product
from tests import factories
from tests.helpers import is_postgres, png_bytes, spare_port
from tests.processes import (
    ROOT,
    Process,
    celery_beat,
    celery_worker,
    process_env,
    wait_for,
)
from tests.submissions import big_file, product_form
from tests.unit.commissions.helpers import pay, redeem, referred_order

pytestmark = pytest.mark.postgres_only


@dataclass
class Host:
    name: str
    url: str
    process: Process


@pytest.fixture
def shared(app: Flask, database_url: str, redis_database: str) -> dict[str, str]:
    """The environment every host shares: the PostgreSQL test database and a Redis database."""
    if not is_postgres(app):
        pytest.skip(
            "several hosts share PostgreSQL; on SQLite the database is one host's file "
            "(set TEST_DATABASE_URL to run this)"
        )
    return process_env(
        database_url,
        REDIS_URL=redis_database,
        CELERY_BROKER_URL=redis_database,
        RATELIMIT_ENABLED="false",
    )


def start_host(name: str, env: dict[str, str]) -> Host:
    port = spare_port()
    process = Process(
        name,
        [
            sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app",
        ],
        {**env, "BASE_URL": f"http://127.0.0.1:{port}"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.popen.poll() is not None:
            pytest.fail(f"{name} exited early:\n{process.output()[-3000:]}")
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, timeout=60, what=f"{name} to answer")
    return Host(name, url, process)


@pytest.fixture
def two_hosts(shared: dict[str, str]) -> Iterator[tuple[Host, Host]]:
    first = start_host("host-a", shared)
    try:
        second = start_host("host-b", shared)
    except BaseException:
        first.process.stop()
        raise
    yield first, second
    for host in (first, second):
        host.process.stop()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    match = CSRF.search(page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(host: Host, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session, f"{host.url}/login")
    answer = session.post(
        f"{host.url}/login",
        data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def signed_in(session: requests.Session, host: Host) -> bool:
    answer = session.get(f"{host.url}/account", allow_redirects=False, timeout=10)
    return answer.status_code == 200


def test_a_sign_out_on_one_host_is_honoured_by_the_other(two_hosts):
    first, second = two_hosts
    person = factories.UserFactory(email="lan@example.com")
    db.session.commit()
    on_first = sign_in(first, person.email)
    on_second = requests.Session()
    on_second.cookies.update(on_first.cookies)  # the same cookie, presented to the other host
    assert signed_in(on_second, second)

    token = csrf_token(on_first, f"{first.url}/account")
    on_first.post(f"{first.url}/logout", data={"csrf_token": token}, timeout=10)

    assert not signed_in(on_second, second)


def test_an_image_uploaded_through_one_host_is_served_by_the_other(two_hosts):
    first, second = two_hosts
    hr = factories.UserFactory(email="hr@example.com", roles={Role.HR})
    db.session.commit()
    on_first = sign_in(first, hr.email)
    form = {
        **product_form(slug="ha-long"),
        "csrf_token": csrf_token(on_first, f"{first.url}/manage/products/new"),
    }
    answer = on_first.post(
        f"{first.url}/manage/products/new",
        data=form,
        files={"image": ("photo.png", png_bytes(), "image/png")},
        allow_redirects=False,
        timeout=20,
    )
    assert answer.status_code == 303, answer.text[:500]
    db.session.expire_all()
    product = db.session.scalar(select(Product).where(Product.slug == "ha-long"))
    assert product is not None
    assert product.image_filename

    served = requests.get(f"{second.url}/shop/images/{product.image_filename}", timeout=10)

    assert served.status_code == 200
    assert served.content == png_bytes()
    assert "immutable" in served.headers["Cache-Control"]


def test_an_import_started_on_one_host_completes_and_shows_on_the_other(two_hosts, shared):
    first, second = two_hosts
    hr = factories.UserFactory(email="hr@example.com", roles={Role.HR})
    db.session.commit()
    on_first = sign_in(first, hr.email)
    on_second = sign_in(second, hr.email)
    with celery_worker(shared):
        token = csrf_token(on_first, f"{first.url}/people/import/")
        uploaded = on_first.post(
            f"{first.url}/people/import/",
            data={"csrf_token": token},
            files={"file": ("nhansu.csv", big_file(300).encode(), "text/csv")},
            allow_redirects=False,
            timeout=30,
        )
        assert uploaded.status_code == 302, uploaded.text[:500]
        review = first.url + uploaded.headers["Location"]
        wait_for(
            lambda: 'data-testid="count-create">300<' in on_first.get(review, timeout=10).text,
            timeout=60,
            what="the dry run on the worker",
        )
        confirm = review.rstrip("/") + "/confirm"
        started = on_first.post(
            confirm,
            data={"csrf_token": csrf_token(on_first, review)},
            allow_redirects=False,
            timeout=30,
        )
        assert started.status_code == 302, started.text[:500]
        job_path = started.headers["Location"]
        assert job_path.startswith("/jobs/")

        done = "Import done: 300 added, 0 updated, 0 unchanged."
        wait_for(
            lambda: done in on_second.get(second.url + job_path, timeout=10).text,
            timeout=90,
            what="the import's result on the other host",
        )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 301


def payable_count() -> int:
    db.session.expire_all()
    return len(
        db.session.scalars(
            select(Commission).where(Commission.state == CommissionState.PAYABLE)
        ).all()
    )


def earned_commissions(count: int) -> None:
    """``count`` orders paid and redeemed long enough ago for their commissions to be due."""
    factories.CommissionRuleFactory()
    for _ in range(count):
        order = referred_order()
        pay(order)
        redeem(order)
        lifecycle.backdate_earning(order.id, 30)


def released_by(log: str) -> int:
    """What the worker says its ``release_due`` runs returned, added up."""
    pattern = r"perks\.commissions\.release_due\[[^\]]+\] succeeded in [\d.e-]+s: (\d+)"
    return sum(int(n) for n in re.findall(pattern, log))


def test_two_beats_at_once_make_each_commission_payable_once(shared, tmp_path):
    earned_commissions(12)
    env = {**shared, "CELERY_BEAT_SCALE": "0.01"}  # every 9 s instead of every 15 min
    with (
        celery_worker(env) as worker,
        celery_beat(env, tmp_path) as one,
        celery_beat(env, tmp_path) as other,
    ):
        wait_for(lambda: payable_count() == 12, timeout=90, what="12 payable commissions")
        for beat in (one, other):  # both schedulers have sent the task at least once
            wait_for(lambda b=beat: "release_due" in b.output(), timeout=30, what=beat.name)
        runs = r"release_due\[[^\]]+\] succeeded"
        wait_for(lambda: len(re.findall(runs, worker.output())) >= 2, timeout=30, what="2 runs")
    assert released_by(worker.output()) == 12
    assert payable_count() == 12


def test_two_ticks_at_once_make_each_commission_payable_once(shared):
    earned_commissions(12)
    ticks = [
        Process(
            f"tick-{n}", [sys.executable, "-m", "flask", "--app", "wsgi", "perks", "tick"], shared
        )
        for n in range(2)
    ]
    for tick in ticks:
        assert tick.popen.wait(120) == 0, tick.output()
        tick.stop()
    made = [re.search(r"Commissions made payable: (\d+)", t.output()) for t in ticks]
    assert all(made), [t.output() for t in ticks]
    assert sum(int(m.group(1)) for m in made if m) == 12
    assert payable_count() == 12
