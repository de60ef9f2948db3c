"""The manifests agree with the platform: generated files are current, topics and ACLs follow topics.toml,
every variable set is one the processes read and parses, and each workload has what the guide promises."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from eproc_shared.auth import AuthSettings
from eproc_shared.settings import BrokerSettings, ServiceSettings, TelemetrySettings
from eproc_shared.topics import load_topics

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
STACK = tomllib.loads((REPO / "stack.toml").read_text())["process"]
PROCESSES = {p["name"]: p for p in STACK}
# Variables the manifests set that no settings class reads, and who does read them.
OTHER_READERS = {
    "EPROC_SERVICE": "the image's entry command (deploy/images/eproc_entry.py)",
    "OTEL_SERVICE_NAME": "the OpenTelemetry SDK",
}


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def settings_class(process: str) -> type[ServiceSettings]:
    module_name = PROCESSES[process]["app"].split(":")[0].replace(".main", ".settings")
    module = __import__(module_name, fromlist=["*"])
    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, ServiceSettings) and v.__module__ == module.__name__
    ]
    assert len(classes) == 1, module_name
    return classes[0]


def env_names(cls: type[Any]) -> set[str]:
    """Every environment variable a pydantic-settings class reads (upper case)."""
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if alias is not None and hasattr(alias, "choices"):
            names |= {str(c).upper() for c in alias.choices}
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def container_env(deployment: dict[str, Any], config: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """The environment the main container gets: the ConfigMap, then its own variables (secrets filled in)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = dict(config)
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "secretKeyRef" in item["valueFrom"]:
            ref = item["valueFrom"]["secretKeyRef"]
            if ref.get("optional"):
                continue
            env[item["name"]] = secrets[ref["key"]]
    return env


# --- generated files ------------------------------------------------------------------------------------


def test_generated_manifests_are_current(generator: ModuleType) -> None:
    stale = [str(path) for path, content in generator.render().items() if (K8S / path).read_text() != content]
    assert not stale, f"out of date, run `python deploy/k8s/generate.py`: {stale}"


def test_generator_reports_a_changed_topic_list(generator: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "shared/src/eproc_shared").mkdir(parents=True)
    (tmp_path / "stack.toml").write_text((REPO / "stack.toml").read_text())
    topics = (REPO / "shared/src/eproc_shared/topics.toml").read_text()
    extra = '\n[topics."eproc.tender.extra"]\nowner = "tender"\nvisibility = "public"\npartitions = 12\n'
    (tmp_path / "shared/src/eproc_shared/topics.toml").write_text(topics + extra)
    files = generator.render(tmp_path)
    topic_docs = list(yaml.safe_load_all(files[Path("base/kafka/topics.yaml")]))
    added = next(d for d in topic_docs if d and d["spec"]["topicName"] == "eproc.tender.extra")
    assert added["spec"]["partitions"] == 12
    assert files[Path("base/kafka/topics.yaml")] != (K8S / "base/kafka/topics.yaml").read_text()
    (tmp_path / "shared/src/eproc_shared/topics.toml").write_text(topics + extra.replace('"tender"', '"nobody"'))
    with pytest.raises(ValueError, match="nobody"):
        generator.render(tmp_path)


# --- Kafka ------------------------------------------------------------------------------------------------


def base_docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / "base" / name).read_text()) if d]


def test_kafka_topics_match_the_services_topic_configuration() -> None:
    # The same loader the services use to create topics, without any environment override.
    specs = load_topics(BrokerSettings(topic_partitions=None, topic_replication_factor=None, topics_file=None))
    topics = {d["spec"]["topicName"]: d for d in base_docs("kafka/topics.yaml")}
    assert set(topics) == set(specs)
    for name, spec in specs.items():
        manifest = topics[name]["spec"]
        assert manifest["partitions"] == spec.partitions, name
        assert manifest["config"]["retention.ms"] == spec.retention_ms, name
        assert manifest["replicas"] == max(3, spec.replication_factor), name
        assert manifest["config"]["min.insync.replicas"] == min(max(2, spec.min_insync_replicas), manifest["replicas"])
        assert topics[name]["metadata"]["annotations"]["eproc.tangerangkota.go.id/owner"] == spec.owner
        assert topics[name]["metadata"]["labels"]["strimzi.io/cluster"] == "eproc-kafka"


def test_every_topic_of_the_event_catalogue_has_a_kafka_topic() -> None:
    from eproc_shared.events.catalogue import CATALOGUE

    names = {d["spec"]["topicName"] for d in base_docs("kafka/topics.yaml")}
    assert set(CATALOGUE.topics) <= names


def acls_of(user: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    acls: dict[tuple[str, str, str], set[str]] = {}
    for entry in user["spec"]["authorization"]["acls"]:
        assert entry["type"] == "allow"
        resource = entry["resource"]
        key = (resource["type"], resource["name"], resource.get("patternType", "literal"))
        acls.setdefault(key, set()).update(entry["operations"])
    return acls


def test_each_process_writes_only_the_topics_it_owns() -> None:
    specs = load_topics(BrokerSettings(topic_partitions=None, topic_replication_factor=None, topics_file=None))
    users = of_kind(base_docs("kafka/users.yaml"), "KafkaUser")
    for process in PROCESSES:
        acls = acls_of(users[f"eproc-{process}"])
        written = {name for (kind, name, pattern), ops in acls.items() if kind == "topic" and "Write" in ops}
        owned = {name for name, spec in specs.items() if spec.owner == process}
        # Owned topics, literally; and by prefix its own name, where its consumers' <consumer>.dlq live.
        assert written == owned | {process}, process
        assert acls[("topic", process, "prefix")] >= {"Create", "Write"}
        assert not any(name.startswith("eproc.") for name in {process}), "a prefix must never cover eproc.* topics"
        assert ("group", process, "prefix") in acls
        for name in specs:
            assert {"Describe", "Read"} <= acls[("topic", name, "literal")], (process, name)
        assert users[f"eproc-{process}"]["spec"]["authentication"]["type"] == "scram-sha-512"


def test_outside_consumers_read_only_public_topics() -> None:
    specs = load_topics(BrokerSettings(topic_partitions=None, topic_replication_factor=None, topics_file=None))
    public = {name for name, spec in specs.items() if spec.visibility == "public"}
    acls = acls_of(of_kind(base_docs("kafka/users.yaml"), "KafkaUser")["eproc-public-reader"])
    topics = {name: ops for (kind, name, _), ops in acls.items() if kind == "topic"}
    assert set(topics) == public
    assert all(ops == {"Describe", "Read"} for ops in topics.values())
    assert [key for key in acls if key[0] == "group"] == [("group", "public.", "prefix")]


def test_kafka_cluster_is_kraft_with_three_replicas_and_min_insync_two(
    documents: dict[str, list[dict[str, Any]]],
) -> None:
    production = documents["production"]
    pools = of_kind(production, "KafkaNodePool")
    assert sum(p["spec"]["replicas"] for p in pools.values()) == 3
    assert {"controller", "broker"} <= {role for p in pools.values() for role in p["spec"]["roles"]}
    kafka = of_kind(production, "Kafka")["eproc-kafka"]["spec"]["kafka"]
    assert kafka["config"]["default.replication.factor"] == 3
    assert kafka["config"]["min.insync.replicas"] == 2
    assert kafka["config"]["auto.create.topics.enable"] is False
    assert kafka["authorization"]["type"] == "simple"
    assert all(listener["tls"] for listener in kafka["listeners"])
    config = of_kind(production, "ConfigMap")["eproc-platform"]["data"]
    assert config["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert config["KAFKA_TOPIC_REPLICATION_FACTOR"] == "3"


# --- workloads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production", "single-service"])
def test_every_deployment_is_hardened_probed_and_migrated_once(
    documents: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = documents[overlay]
    deployments = of_kind(docs, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False
        assert pod["serviceAccountName"] == name
        assert name in of_kind(docs, "ServiceAccount")
        main = pod["containers"][0]
        assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert main["livenessProbe"]["httpGet"]["path"] == "/health/live"
        for container in [*pod["initContainers"], *pod["containers"]]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context["seccompProfile"]["type"] == "RuntimeDefault"
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        # Migrations: once, in the init container, before any replica of this rollout serves.
        assert pod["initContainers"][0]["command"] == ["eproc", "migrate"]
        prefix = PROCESSES[name]["env_prefix"]
        env = {e["name"]: e for e in main["env"]}
        assert env[f"{prefix}RUN_MIGRATIONS"]["value"] == "false"
        assert env[f"{prefix}PORT"]["value"] == str(main["ports"][0]["containerPort"]) == str(PROCESSES[name]["port"])
        assert env[f"{prefix}HOST"]["value"] == "0.0.0.0"
        # The database is this process's own CloudNativePG cluster; the Kafka user its own.
        database = env[f"{prefix}DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert database == {"name": f"{name}-db-app", "key": "uri"}
        assert f"{name}-db" in of_kind(docs, "Cluster")
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == env["KAFKA_SASL_USERNAME"]["value"]
        assert env["KAFKA_SASL_USERNAME"]["value"] in of_kind(docs, "KafkaUser")
        assert name in of_kind(docs, "Service")
        assert name in of_kind(docs, "PodDisruptionBudget")
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"


def test_production_scales_gateway_and_tender_and_backs_up_every_database(
    documents: dict[str, list[dict[str, Any]]],
) -> None:
    production = documents["production"]
    assert set(of_kind(production, "HorizontalPodAutoscaler")) == {"gateway", "tender"}
    clusters = of_kind(production, "Cluster")
    assert set(clusters) == {f"{name}-db" for name in PROCESSES}
    for name, cluster in clusters.items():
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"].endswith(name)
    assert {b["spec"]["cluster"]["name"] for b in of_kind(production, "ScheduledBackup").values()} == set(clusters)
    ingress = of_kind(production, "Ingress")["gateway"]["spec"]
    assert ingress["tls"][0]["secretName"]
    assert ingress["tls"][0]["hosts"] == [ingress["rules"][0]["host"]]


def test_dev_runs_one_of_everything(documents: dict[str, list[dict[str, Any]]]) -> None:
    dev = documents["dev"]
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(dev, "Deployment").values())
    assert not of_kind(dev, "HorizontalPodAutoscaler")
    assert all(c["spec"]["instances"] == 1 for c in of_kind(dev, "Cluster").values())
    assert sum(p["spec"]["replicas"] for p in of_kind(dev, "KafkaNodePool").values()) == 1
    assert all(t["spec"]["replicas"] == 1 for t in of_kind(dev, "KafkaTopic").values())


def test_single_service_overlay_brings_only_what_the_service_needs(
    documents: dict[str, list[dict[str, Any]]],
) -> None:
    docs = documents["single-service"]
    assert set(of_kind(docs, "Deployment")) == {"tender"}
    assert set(of_kind(docs, "Cluster")) == {"tender-db"}
    assert set(of_kind(docs, "KafkaUser")) == {"eproc-tender", "eproc-public-reader"}
    config = of_kind(docs, "ConfigMap")["eproc-platform"]["data"]
    assert "gateway" not in config["AUTH_JWKS_URL"]


# --- settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["dev", "production", "single-service"])
def test_every_variable_set_is_read_by_the_process(documents: dict[str, list[dict[str, Any]]], overlay: str) -> None:
    docs = documents[overlay]
    config = of_kind(docs, "ConfigMap")["eproc-platform"]["data"]
    shared = env_names(BrokerSettings) | env_names(TelemetrySettings) | env_names(AuthSettings)
    for name, deployment in of_kind(docs, "Deployment").items():
        known = env_names(settings_class(name)) | shared | set(OTHER_READERS)
        pod = deployment["spec"]["template"]["spec"]
        for container in [*pod["initContainers"], *pod["containers"]]:
            names = {e["name"] for e in container["env"]}
            unread = {n for n in names if n not in known}
            assert not unread, f"{overlay}: {name}/{container['name']} sets variables nothing reads: {unread}"
        foreign_prefixes = {p["env_prefix"] for p in STACK} - {PROCESSES[name]["env_prefix"]}
        unread = {
            key for key in config if key not in known and not any(key.startswith(prefix) for prefix in foreign_prefixes)
        }
        assert not unread, f"{overlay}: the ConfigMap sets variables {name} does not read: {unread}"


@pytest.mark.parametrize("overlay", ["dev", "production", "single-service"])
def test_settings_parse_from_the_rendered_environment(
    documents: dict[str, list[dict[str, Any]]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = documents[overlay]
    config = of_kind(docs, "ConfigMap")["eproc-platform"]["data"]
    # Stand-ins with the shape the operators and the README's commands give these secrets.
    secrets = {
        "uri": "postgresql://app:pw@db-rw:5432/app",
        "password": "kafka-password",
        "token-hash-key": "x" * 48,
        "key-encryption-key": base64.b64encode(bytes(range(32))).decode(),
    }
    for name, deployment in of_kind(docs, "Deployment").items():
        env = container_env(deployment, config, secrets)
        with monkeypatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            settings = settings_class(name)()
            assert settings.host == "0.0.0.0"
            assert settings.port == PROCESSES[name]["port"]
            assert settings.database_url.startswith("postgresql+asyncpg://")
            assert settings.run_migrations is False
            assert settings.broker.security_protocol == "SASL_SSL"
            assert settings.broker.sasl_mechanism == "SCRAM-SHA-512"
            assert settings.broker.enable_idempotence is True
            auth = AuthSettings()
            assert auth.issuer.startswith("https://")
            if name == "gateway":
                upstreams = settings.upstreams  # type: ignore[attr-defined]
                assert upstreams == {p: f"http://{p}:{PROCESSES[p]['port']}" for p in PROCESSES if p != "gateway"}
                if overlay == "production":
                    assert settings.production_problems() == []  # type: ignore[attr-defined]
                    assert json.loads(env["GATEWAY_SIGNING_KEY_FILES"])


@pytest.mark.parametrize("overlay", ["dev", "production", "single-service"])
def test_secret_settings_come_from_secrets_and_files_from_shared_volumes(
    documents: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    docs = documents[overlay]
    claims = of_kind(docs, "PersistentVolumeClaim")
    for name, deployment in of_kind(docs, "Deployment").items():
        cls = settings_class(name)
        prefix = PROCESSES[name]["env_prefix"]
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        for field_name, field in cls.model_fields.items():
            variable = f"{prefix}{field_name}".upper()
            if field.annotation is SecretStr and field_name != "database_url":
                assert "secretKeyRef" in env.get(variable, {}).get("valueFrom", {}), f"{overlay}: {variable}"
            if field_name == "storage_dir":
                # Files written by one replica are read by another: a claim mounted where the setting points.
                path = env[variable]["value"]
                mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"]))
                volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
                claim = claims[volume["persistentVolumeClaim"]["claimName"]]
                if overlay != "dev":
                    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("overlay", ["dev", "production", "single-service"])
def test_every_secret_file_a_setting_names_is_mounted_from_a_secret(
    documents: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    for name, deployment in of_kind(documents[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        secret_volumes = {v["name"] for v in pod["volumes"] if "secret" in v}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"] if m["name"] in secret_volumes}
        for item in container["env"]:
            value = item.get("value", "")
            paths = json.loads(value) if value.startswith("[") else [value]
            for path in paths:
                if isinstance(path, str) and path.startswith(("/etc/eproc/signing", "/etc/eproc/secrets")):
                    mount = next((m for p, m in mounts.items() if path.startswith(p + "/")), None)
                    assert mount is not None, f"{overlay}: {name} {item['name']}={path} is not mounted"
                    assert mount["readOnly"] is True


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_consumer_groups_start_with_the_process_name_as_the_kafka_acls_require(process: str) -> None:
    # The KafkaUser grants groups and <consumer>.dlq topics by the prefix <process>; another name is refused.
    cls = settings_class(process)
    groups = {name: f.default for name, f in cls.model_fields.items() if name.endswith("consumer_group")}
    for setting, default in groups.items():
        assert isinstance(default, str), setting
        assert default.startswith(process), f"{cls.__name__}.{setting} = {default!r} must start with {process!r}"
