"""The README's settings tables are generated from the settings classes; they must be current."""

from __future__ import annotations

import re
from pathlib import Path

from eproc_shared.settings_doc import END, START, render

ROOT = Path(__file__).resolve().parents[1]


def documented_classes() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    block = re.search(r"^SETTINGS_DOC := (.*?)(?<!\\)$", makefile, re.M | re.S)
    assert block, "Makefile has no SETTINGS_DOC"
    return block.group(1).replace("\\\n", " ").split()


def test_readme_settings_tables_are_current() -> None:
    readme = (ROOT / "README.md").read_text()
    current = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert current == render(documented_classes()).strip(), "README settings are stale: run `make docs`"


def test_every_setting_has_a_meaning() -> None:
    undocumented = [line for line in render(documented_classes()).splitlines() if line.endswith("|  |")]
    assert undocumented == [], "settings without a description"
