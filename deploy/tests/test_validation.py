"""Every overlay renders, and what it renders is valid: core kinds against Kubernetes' own schema, the
operators' kinds against their CRDs, and the whole against a policy checker with every exception explained."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "deploy" / "images"
# CI runs in a fresh clone with the project's shared/ folder beside it.
CRDS = (REPO / ".." / "shared" / "k8s-crds").resolve()

# The Kubernetes release the manifests target (the oldest the guide supports: native preStop sleep).
KUBERNETES_VERSION = "1.33.0"

# Checkov findings that are accepted: {check: (the rendered files it may fail in, why)}. A check listed here
# that no longer fails is reported too, so this list never outlives its reasons.
EXPLAINED_CHECKS: dict[str, tuple[set[str], str]] = {
    "CKV_K8S_43": (
        {"dev.yaml", "production.yaml", "single-service.yaml"},
        "images are referenced by tag; each overlay's `images:` is where the city's CI sets the digest it "
        "built (README, Images), which cannot be known before the build",
    ),
    "CKV_K8S_35": (
        {"dev.yaml", "production.yaml", "single-service.yaml"},
        "the settings are read from environment variables (pydantic-settings), so database and Kafka passwords "
        "come from secretKeyRef env; the signing key, the one file-shaped secret, is mounted as a file",
    ),
    "CKV_K8S_15": (
        {"dev.yaml"},
        "dev runs images built on the laptop and loaded into its cluster (kind load), which cannot be pulled",
    ),
}
# What checkov scans: the rendered overlays and the image build file.
CHECKOV_FRAMEWORKS = ["kubernetes", "dockerfile"]

CRD_FILES = {
    ("kafka.strimzi.io", "Kafka"): "strimzi-040-Crd-kafka.yaml",
    ("kafka.strimzi.io", "KafkaTopic"): "strimzi-043-Crd-kafkatopic.yaml",
    ("kafka.strimzi.io", "KafkaUser"): "strimzi-044-Crd-kafkauser.yaml",
    ("kafka.strimzi.io", "KafkaNodePool"): "strimzi-045-Crd-kafkanodepool.yaml",
    ("postgresql.cnpg.io", "Cluster"): "cnpg-postgresql.cnpg.io_clusters.yaml",
    ("postgresql.cnpg.io", "ScheduledBackup"): "cnpg-postgresql.cnpg.io_scheduledbackups.yaml",
}


def group_of(document: dict[str, Any]) -> str:
    api = document["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def test_every_overlay_renders(rendered: dict[str, Path]) -> None:
    assert set(rendered) == {"dev", "production", "single-service"}
    for overlay, path in rendered.items():
        kinds = {d["kind"] for d in yaml.safe_load_all(path.read_text()) if d}
        assert {"Deployment", "Service", "NetworkPolicy", "Cluster", "KafkaTopic", "KafkaUser"} <= kinds, overlay


def test_core_kinds_are_valid_against_the_kubernetes_schema(documents: dict[str, list[dict[str, Any]]]) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (requirements-dev.txt) is not installed"
    )
    checked = 0
    for overlay, docs in documents.items():
        for document in docs:
            if (group_of(document), document["kind"]) in CRD_FILES:
                continue
            try:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(
                    f"{overlay}: {document['kind']}/{document['metadata']['name']}: {exc.message} at {exc.path}"
                )
            checked += 1
    assert checked > 50


def strict(schema: Any) -> Any:
    """A CRD schema that rejects unknown fields, as the API server's strict field validation does."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        open_ended = "additionalProperties" in schema or schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and not open_ended:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def crd_validators() -> dict[tuple[str, str, str], Any]:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (requirements-dev.txt) is not installed")
    if not CRDS.is_dir():
        pytest.skip(f"the operators' CRDs are not beside this checkout ({CRDS}); Strimzi/CloudNativePG not checked")
    validators = {}
    for (group, kind), filename in CRD_FILES.items():
        crd = yaml.safe_load((CRDS / filename).read_text())
        assert crd["spec"]["group"] == group
        assert crd["spec"]["names"]["kind"] == kind
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validators[(group, version["name"], kind)] = jsonschema.Draft7Validator(schema)
    return validators


def test_operator_kinds_are_valid_against_their_crds(
    documents: dict[str, list[dict[str, Any]]], crd_validators: dict[tuple[str, str, str], Any]
) -> None:
    checked = 0
    for overlay, docs in documents.items():
        for document in docs:
            key = (group_of(document), document["kind"])
            if key not in CRD_FILES:
                continue
            version = document["apiVersion"].split("/")[1]
            validator = crd_validators.get((key[0], version, key[1]))
            assert validator is not None, f"{overlay}: {document['apiVersion']} {key[1]} is not served by the CRD"
            errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
            assert not errors, f"{overlay}: {key[1]}/{document['metadata']['name']}: " + "; ".join(
                f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors
            )
            checked += 1
    assert checked > 20


def test_crd_validation_catches_a_misspelt_field(crd_validators: dict[tuple[str, str, str], Any]) -> None:
    validator = crd_validators[("kafka.strimzi.io", "v1", "KafkaTopic")]
    good = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "t"},
        "spec": {"partitions": 3, "replicas": 3},
    }
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "spec": {"partitions": 3, "replica": 3}}))


def test_no_kind_is_left_unvalidated(documents: dict[str, list[dict[str, Any]]]) -> None:
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate (requirements-dev.txt) is not installed"
    )
    for overlay, docs in documents.items():
        for document in docs:
            if (group_of(document), document["kind"]) in CRD_FILES:
                continue
            try:
                kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                pytest.fail(f"{overlay}: {document['apiVersion']} {document['kind']} has no schema to check it against")


def test_policy_checker_finds_nothing_unexplained(rendered: dict[str, Path], tmp_path: Path, tool: Any) -> None:
    checkov = tool("checkov")
    if checkov is None:
        pytest.skip("checkov (requirements-dev.txt) is not installed")
    target = tmp_path / "scan"
    target.mkdir()
    for overlay, path in rendered.items():
        (target / f"{overlay}.yaml").write_text(path.read_text())
    (target / "Dockerfile").write_text((IMAGES / "Dockerfile").read_text())
    result = subprocess.run(
        [
            checkov,
            "--directory",
            str(target),
            "--framework",
            *CHECKOV_FRAMEWORKS,
            "--output",
            "json",
            "--skip-download",
            "--no-fail-on-crash",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    reports = json.loads(result.stdout or "[]")
    if isinstance(reports, dict):
        reports = [reports]
    failed: dict[str, set[str]] = {}
    passed = 0
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        for check in results.get("failed_checks", []):
            failed.setdefault(check["check_id"], set()).add((Path(check["file_path"]).name, check["resource"]))
    assert passed > 100, f"checkov checked almost nothing: {result.stderr[-2000:]}"
    unexplained = {
        cid: sorted(f"{file}: {resource}" for file, resource in where)[:5]
        for cid, where in failed.items()
        if any(file not in EXPLAINED_CHECKS.get(cid, (set(), ""))[0] for file, _ in where)
    }
    assert not unexplained, f"checkov failed checks with no explanation: {json.dumps(unexplained, indent=1)}"
    stale = set(EXPLAINED_CHECKS) - set(failed)
    assert not stale, f"explained checks that no longer fail; remove them from EXPLAINED_CHECKS: {sorted(stale)}"
