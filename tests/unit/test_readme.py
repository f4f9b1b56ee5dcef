"""The README stays true: every setting in config.py is in its settings table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_the_readme():
    config = (ROOT / "perks" / "config.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings = set(re.findall(r'env\.get\(\s*"([A-Z_]+)"', config))
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert settings, "no settings found in config.py"
    assert settings - documented == set(), "add these to the README's settings table"
    assert documented - settings == set(), "the README documents settings that do not exist"


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:1500]
    assert "make run" in head
    assert "make test" in head
