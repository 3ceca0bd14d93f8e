"""Kafka over TLS with SASL/PLAIN, with the flags docs/ingest.md gives: the broker's SASL_SSL
listener (scripts/kafka.sh with NLK_KAFKA_SECURE_PORT, as scripts/run-integration-tests.sh
starts it) serves `nlk datagen --kafka` and `nlk ingest` given `--kafka-property` settings, and
refuses clients with a wrong password or an unverifiable certificate, with a clear error.

Needs NLK_KAFKA_SECURE_BOOTSTRAP, _CA, _USER and _PASSWORD (eval "$(scripts/kafka.sh env)");
skipped without them."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from nlkcli import REPO_ROOT

SECURE = os.environ.get("NLK_KAFKA_SECURE_BOOTSTRAP", "")
pytestmark = pytest.mark.skipif(not SECURE, reason="no SASL_SSL listener: start Kafka with "
                                "NLK_KAFKA_SECURE_PORT set and eval \"$(scripts/kafka.sh env)\"")


def secure_flags(password: str | None = None, ca: str | None = None) -> list[str]:
    settings = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": os.environ.get("NLK_KAFKA_SECURE_USER", ""),
        "sasl.password": password if password is not None else
        os.environ.get("NLK_KAFKA_SECURE_PASSWORD", ""),
        "ssl.ca.location": ca if ca is not None else os.environ.get("NLK_KAFKA_SECURE_CA", ""),
    }
    flags = []
    for name, value in settings.items():
        flags += ["--kafka-property", f"{name}={value}"]
    return flags


def create_topic() -> str:
    name = f"nlk-secure-{uuid.uuid4().hex[:12]}"
    run = subprocess.run([str(REPO_ROOT / "scripts" / "kafka.sh"), "create-topic", name, "2"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    return name


def produce(run_nlk, topic: str, *flags, check=True):
    return run_nlk("datagen", "--kind", "samples", "--devices", "2", "--channels", "2", "--rate",
                   "50", "--duration", "2", "--seed", "5", "--kafka", SECURE, "--topic", topic,
                   "--format", "json", *flags, check=check, timeout=120)


def ingest(run_nlk, topic: str, table, *flags, check=True):
    return run_nlk("ingest", table, "--bootstrap", SECURE, "--topic", topic, "--format", "json",
                   "--schema-from-datagen", "samples", "--group", f"g-{uuid.uuid4().hex[:8]}",
                   "--max-latency-ms", "300", "--exit-when-idle", "3", *flags, check=check,
                   timeout=180)


def test_produce_and_ingest_over_sasl_ssl(run_nlk, tmp_path):
    topic = create_topic()
    produced = produce(run_nlk, topic, *secure_flags())
    assert "produced 400 rows" in produced.stdout, produced.stdout
    table = tmp_path / "samples"
    ingest(run_nlk, topic, table, *secure_flags())
    rows = run_nlk("table", "read", table, "--format", "count").stdout.strip()
    assert rows == "400"


def test_a_wrong_password_is_refused_clearly(run_nlk, tmp_path):
    topic = create_topic()
    refused = ingest(run_nlk, topic, tmp_path / "t", *secure_flags(password="wrong"), check=False)
    assert "auth" in refused.stderr.lower(), refused.stderr
    assert not (tmp_path / "t" / "_delta_log").exists()
    refused = produce(run_nlk, topic, *secure_flags(password="wrong"), check=False)
    assert "auth" in refused.stderr.lower(), refused.stderr


def test_an_unverifiable_broker_certificate_is_refused(run_nlk, tmp_path):
    topic = create_topic()
    # The system's CAs do not include the broker's private CA.
    refused = ingest(run_nlk, topic, tmp_path / "t", *secure_flags(ca="/etc/ssl/certs"),
                     check=False)
    assert "ssl" in refused.stderr.lower() or "certificate" in refused.stderr.lower(), \
        refused.stderr
    assert not (tmp_path / "t" / "_delta_log").exists()
