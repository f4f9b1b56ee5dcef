"""The README stays true: every setting in config.py is in its settings table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def section(title: str) -> str:
    """The README's ``## title`` section, up to the next one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", readme, flags=re.M | re.S)
    assert found, f"the README has no section {title!r}"
    return found.group(1)


def settings_read_by(path: Path) -> set[str]:
    return set(re.findall(r'env\.get\(\s*"([A-Z_]+)"', path.read_text(encoding="utf-8")))


def documented_in(text: str) -> set[str]:
    return set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("source", "title"),
    [("perks/config.py", "Settings"), ("stripe_sandbox/settings.py", "Stripe sandbox")],
)
def test_every_setting_is_documented_in_the_readme(source, title):
    """The product's settings in its settings table, the sandbox's in its own section."""
    settings = settings_read_by(ROOT / source)
    documented = documented_in(section(title))
    assert settings, f"no settings found in {source}"
    assert settings - documented == set(), f"add these to the README's table in {title!r}"
    assert documented - settings == set(), "the README documents settings that do not exist"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:1500]
    assert "make run" in head
    assert "make test" in head


def test_every_screenshot_the_readme_shows_is_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\((docs/screenshots/[\w.-]+\.png)\)", readme))
    assert len(shown) > 10
    assert {path for path in shown if not (ROOT / path).is_file()} == set()


def test_every_scheduled_task_is_in_the_readme():
    from perks.jobs import BEAT_SCHEDULE

    documented = set(re.findall(r"^  \| `(perks\.[a-z_.]+)` \|", section("Background work"), re.M))
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == documented


def test_the_production_steps_set_everything_production_requires():
    """Following "Running in production" word for word, the app starts: every setting
    production refuses to start without is among its ``export`` lines."""
    import shlex

    from perks.config import load_settings, validate_settings

    block = re.search(r"```sh\n(.*?)```", section("Running in production"), flags=re.S)
    assert block
    environ: dict[str, str] = {}
    for line in block.group(1).splitlines():
        if line.startswith("export "):
            for word in shlex.split(line[len("export ") :], comments=True):
                name, _, value = word.partition("=")
                environ[name] = value.replace("…", "placeholder")
    assert environ["PERKS_ENV"] == "production"
    validate_settings(load_settings(environ))


def test_the_production_steps_install_only_the_production_requirements():
    """The steps install ``requirements.txt``; a ``make`` target would install
    ``requirements-dev.txt`` over it (the test tools, on a production host) first."""
    block = re.search(r"```sh\n(.*?)```", section("Running in production"), flags=re.S)
    assert block
    assert "requirements.txt" in block.group(1)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\$\(STAMP\):.*\n.*\n\s*-r requirements-dev\.txt", makefile, re.M)
    run = [line for line in block.group(1).splitlines() if re.match(r"\s*make\b", line)]
    assert run == []
