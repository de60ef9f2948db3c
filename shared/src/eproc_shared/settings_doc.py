"""Renders the settings tables of the README from the settings classes, so the docs cannot drift.

Usage: python -m eproc_shared.settings_doc README.md module:Class [module:Class ...]
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings

GENERIC_PREFIX = "SERVICE_"  # ServiceSettings' own prefix: each service replaces it with TENDER_, VENDOR_...
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(see its own table)"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _env_name(cls: type[BaseSettings], name: str, field: Any) -> str:
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return " or ".join(f"`{c}`" for c in choices)
    prefix = cls.model_config.get("env_prefix", "")
    if prefix == GENERIC_PREFIX:
        return f"`<SERVICE>_{name.upper()}`"
    return f"`{(prefix + name).upper()}`"


def _inherited_description(cls: type[BaseSettings], name: str) -> str:
    """A subclass that only changes a default keeps its parent's explanation."""
    for base in cls.__mro__[1:]:
        field = getattr(base, "model_fields", {}).get(name)
        if field is not None and field.description:
            return field.description
    return ""


def table(cls: type[BaseSettings]) -> str:
    summary = (cls.__doc__ or "").strip().splitlines()
    lines = [
        f"**{cls.__name__}**" + (f": {summary[0]}" if summary else ""),
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue  # nested settings have their own table
        meaning = (field.description or _inherited_description(cls, name)).replace("|", "\\|")
        default = _default(field).replace("|", "\\|")
        lines.append(f"| {_env_name(cls, name, field)} | {default} | {meaning} |")
    return "\n".join(lines)


def render(paths: list[str]) -> str:
    classes = []
    for path in paths:
        module, _, name = path.partition(":")
        classes.append(getattr(importlib.import_module(module), name))
    return "\n\n".join(table(cls) for cls in classes)


def update(readme: Path, paths: list[str]) -> bool:
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render(paths)}\n{END}{tail}"
    changed = new != text
    readme.write_text(new)
    return changed


if __name__ == "__main__":
    update(Path(sys.argv[1]), sys.argv[2:])
