"""The Stripe sandbox is an application of its own: nothing in the product imports it, the
product never loads it, and production can run neither it nor the product pointed at it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from perks.config import SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET, ConfigurationError
from tests.helpers import PRODUCTION_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("package", "never"), [("perks", "stripe_sandbox"), ("stripe_sandbox", "perks")]
)
def test_neither_imports_the_other(package, never):
    """The product imports nothing of the sandbox, and the sandbox nothing of the product
    (import-linter says so too, in ``make lint``)."""
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if module == never or module.startswith(never + ".")
    ]
    assert offenders == []


def test_the_product_in_production_never_loads_the_sandbox(database_url):
    script = (
        "import sys\n"
        "from perks import create_app\n"
        f"app = create_app({{**{PRODUCTION_SETTINGS!r}, 'SQLALCHEMY_DATABASE_URI': "
        f"{database_url!r}}})\n"
        "with app.test_client() as client:\n"
        "    assert client.get('/v1/checkout/sessions').status_code == 404\n"
        "    assert client.get('/pay/cs_test_1').status_code == 404\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'stripe_sandbox')\n"
        "print(loaded)\n"
    )
    result = subprocess.run(  # a fresh interpreter: this one has the sandbox loaded for tests
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_sandbox_refuses_to_start_in_production(sandbox_database_url):
    from stripe_sandbox import ConfigurationError as SandboxConfigurationError
    from stripe_sandbox import create_app as create_sandbox

    with pytest.raises(SandboxConfigurationError, match="never runs in production"):
        create_sandbox(
            {"PERKS_ENV": "production", "STRIPE_SANDBOX_DATABASE_URL": sandbox_database_url}
        )


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("STRIPE_API_BASE", "http://127.0.0.1:5002", "STRIPE_API_BASE"),
        ("STRIPE_API_BASE", "https://sandbox.perks.example", "STRIPE_API_BASE"),
        ("STRIPE_SECRET_KEY", SANDBOX_SECRET_KEY, "STRIPE_SECRET_KEY"),
        ("STRIPE_WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET, "STRIPE_WEBHOOK_SECRET"),
    ],
)
def test_production_refuses_the_sandboxs_address_and_keys(app_factory, setting, value, message):
    with pytest.raises(ConfigurationError, match=message):
        app_factory(**{**PRODUCTION_SETTINGS, setting: value})


def test_production_talks_to_stripe_itself(app_factory):
    from perks.payments import stripe_gateway

    production = app_factory(**{**PRODUCTION_SETTINGS, "STRIPE_API_BASE": "https://api.stripe.com"})
    with production.app_context():
        assert stripe_gateway.api_base() == "https://api.stripe.com"
        assert not stripe_gateway.uses_sandbox()
        assert stripe_gateway.checkout_origins() == "https://checkout.stripe.com"
