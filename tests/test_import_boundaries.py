"""A service imports shared/ and nothing of another service; shared/ imports no service."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "eproc_tender": ROOT / "services/tender/src",
    "eproc_vendor": ROOT / "services/vendor/src",
    "eproc_contract": ROOT / "services/contract/src",
    "eproc_audit": ROOT / "services/audit/src",
    "eproc_notify": ROOT / "services/notify/src",
    "eproc_gateway": ROOT / "gateway/src",
    "eproc_shared": ROOT / "shared/src",
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def violations() -> list[str]:
    found = []
    for package, src in PACKAGES.items():
        allowed = {package} if package == "eproc_shared" else {package, "eproc_shared"}
        tests = src.parent / "tests"
        for path in [*src.rglob("*.py"), *(tests.rglob("*.py") if tests.exists() else [])]:
            for name in imported_packages(path) & set(PACKAGES):
                if name not in allowed:
                    found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_no_service_imports_another() -> None:
    assert violations() == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from eproc_vendor.models import metadata\nimport eproc_shared.db\n")
    assert imported_packages(bad) == {"eproc_vendor", "eproc_shared"}
