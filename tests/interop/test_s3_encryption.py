"""Encryption in transit and at rest on S3: a MinIO of its own that serves HTTPS with a
certificate from a private CA and has a KMS key (scripts/minio.sh with NLK_MINIO_TLS=1 and
NLK_MINIO_KMS=1).

- nlk verifies the endpoint's certificate against AWS_CA_BUNDLE and refuses an endpoint it
  cannot verify;
- with AWS_SERVER_SIDE_ENCRYPTION (AES256, or aws:kms with AWS_SSE_KMS_KEY_ID) every object a
  table's life writes (data files, commits, checkpoints, compaction output) is stored encrypted,
  checked object by object with HEAD, and delta-rs reads the table;
- a refused encryption setting fails the write clearly and commits nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import shutil
import ssl
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nlkcli import REPO_ROOT, run_nlk
from serve_harness import free_port

BUCKET = "neuralake"


def minio_available() -> bool:
    binary = os.environ.get("NLK_MINIO_BIN") or str(REPO_ROOT / "var" / "bin" / "minio")
    return Path(binary).exists() and shutil.which("openssl") is not None


@pytest.fixture(scope="module")
def minio(tmp_path_factory):
    if not minio_available():
        pytest.skip("MinIO is not installed (scripts/minio.sh install) or openssl is missing")
    state = tmp_path_factory.mktemp("minio-tls")
    port = free_port()
    env = dict(os.environ, NLK_MINIO_DIR=str(state), NLK_MINIO_PORT=str(port),
               NLK_MINIO_CONSOLE_PORT=str(free_port()), NLK_MINIO_TLS="1", NLK_MINIO_KMS="1")
    script = REPO_ROOT / "scripts" / "minio.sh"
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        printed = subprocess.run([script, "env"], env=env, capture_output=True, text=True,
                                 check=True).stdout
        settings = {}
        for line in printed.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            settings[name] = value
        # Only what this server needs: no AWS_* from the surrounding run may leak in.
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        yield {"env": {**clean, **settings}, "settings": settings, "data": state / "data",
               "port": port}
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)


def nlk_env(minio, **extra) -> dict:
    env = dict(minio["env"])
    env.update(extra)
    return env


def sample_file(tmp_path: Path, name: str, first: int, rows: int = 300) -> Path:
    path = tmp_path / name
    pq.write_table(pa.table({
        "device": pa.array([f"dev-{i % 3}" for i in range(first, first + rows)]),
        "ts_us": pa.array(range(first, first + rows), pa.int64()),
        "amplitude": pa.array([i * 0.5 for i in range(first, first + rows)]),
    }), path)
    return path


def object_keys(minio, prefix: str) -> list[str]:
    """The keys under `prefix`, from MinIO's single-drive layout (one directory holding
    xl.meta per object), so the listing does not depend on the code under test."""
    root = minio["data"] / BUCKET
    return sorted(str(meta.parent.relative_to(root)) for meta in root.glob(f"{prefix}/**/xl.meta"))


def head(minio, key: str) -> dict:
    """HEAD of one object, signed here (SigV4) independently of the code under test."""
    settings = minio["settings"]
    host = settings["AWS_ENDPOINT_URL"].split("://", 1)[1]
    path = "/" + BUCKET + "/" + urllib.parse.quote(key, safe="/-_.~")
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["HEAD", path, ""] + [f"{k}:{headers[k]}" for k in sorted(headers)]
                          + ["", signed, "UNSIGNED-PAYLOAD"])
    scope = f"{amz_date[:8]}/{settings['AWS_REGION']}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key_bytes = ("AWS4" + settings["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (amz_date[:8], settings["AWS_REGION"], "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(settings["AWS_ENDPOINT_URL"] + path, method="HEAD", headers={
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={settings['AWS_ACCESS_KEY_ID']}/{scope}, "
                         f"SignedHeaders={signed}, Signature={signature}"})
    context = ssl.create_default_context(cafile=settings["AWS_CA_BUNDLE"])
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        assert response.status == 200, key
        return {name.lower(): value for name, value in response.headers.items()}


def count(uri: str, env: dict) -> int:
    return int(run_nlk("table", "read", uri, "--format", "count", env=env).stdout.strip())


def test_the_endpoint_certificate_is_verified(minio, tmp_path):
    uri = f"s3://{BUCKET}/verified"
    data = sample_file(tmp_path, "a.parquet", 0)
    run_nlk("table", "create", uri, "--input", data, env=nlk_env(minio))
    assert count(uri, nlk_env(minio)) == 300

    # Without the CA the server's certificate cannot be verified: refused, not trusted.
    unverified = nlk_env(minio)
    del unverified["AWS_CA_BUNDLE"]
    refused = run_nlk("table", "read", uri, "--format", "count", env=unverified, check=False)
    assert "certificate" in refused.stderr.lower(), refused.stderr
    refused = run_nlk("table", "append", uri, "--input", data, env=unverified, check=False)
    assert "certificate" in refused.stderr.lower(), refused.stderr

    # Plain HTTP to the TLS port is no way around it either.
    plain = nlk_env(minio, AWS_ENDPOINT_URL=f"http://127.0.0.1:{minio['port']}",
                    AWS_ALLOW_HTTP="true")
    refused = run_nlk("table", "append", uri, "--input", data, env=plain, check=False)
    assert refused.stderr.strip(), refused
    assert count(uri, nlk_env(minio)) == 300


@pytest.mark.parametrize("encryption", [
    {"AWS_SERVER_SIDE_ENCRYPTION": "AES256"},
    {"AWS_SERVER_SIDE_ENCRYPTION": "aws:kms", "AWS_SSE_KMS_KEY_ID": "neuralake"},
], ids=["sse-s3", "sse-kms"])
def test_every_object_a_table_writes_is_encrypted(minio, tmp_path, encryption):
    prefix = f"encrypted-{encryption['AWS_SERVER_SIDE_ENCRYPTION'].replace(':', '-')}"
    uri = f"s3://{BUCKET}/{prefix}"
    env = nlk_env(minio, **encryption)
    run_nlk("table", "create", uri, "--input", sample_file(tmp_path, "a.parquet", 0),
            "--partition-by", "device", env=env)
    for i in (1, 2):
        run_nlk("table", "append", uri, "--input", sample_file(tmp_path, f"{i}.parquet", i * 300),
                env=env)
    run_nlk("table", "checkpoint", uri, env=env)
    run_nlk("optimize", uri, env=env)
    assert count(uri, env) == 900

    keys = object_keys(minio, prefix)
    kinds = {"commit": [k for k in keys if k.endswith(".json")],
             "checkpoint": [k for k in keys if ".checkpoint." in k],
             "data": [k for k in keys if k.endswith(".parquet") and "_delta_log" not in k]}
    assert all(kinds.values()), keys
    expected = encryption["AWS_SERVER_SIDE_ENCRYPTION"]
    for key in keys:
        headers = head(minio, key)
        assert headers.get("x-amz-server-side-encryption") == expected, (key, headers)
        if "AWS_SSE_KMS_KEY_ID" in encryption:
            assert "neuralake" in headers.get("x-amz-server-side-encryption-aws-kms-key-id", ""), \
                (key, headers)

    # The server decrypts for any client allowed to read: delta-rs reads the same rows.
    deltalake = pytest.importorskip("deltalake")
    settings = minio["settings"]
    table = deltalake.DeltaTable(uri, storage_options={
        "AWS_ACCESS_KEY_ID": settings["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": settings["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": settings["AWS_REGION"],
        "AWS_ENDPOINT_URL": settings["AWS_ENDPOINT_URL"],
        # delta-rs takes no CA bundle; it is the reader here, not the thing under test.
        "AWS_ALLOW_INVALID_CERTIFICATES": "true",
    })
    assert table.to_pyarrow_table().num_rows == 900


def test_a_refused_encryption_fails_the_write_and_commits_nothing(minio, tmp_path):
    uri = f"s3://{BUCKET}/refused"
    env = nlk_env(minio, AWS_SERVER_SIDE_ENCRYPTION="aws:kms", AWS_SSE_KMS_KEY_ID="neuralake")
    run_nlk("table", "create", uri, "--input", sample_file(tmp_path, "a.parquet", 0), env=env)
    before = run_nlk("table", "history", uri, "--json", env=env).stdout

    wrong = nlk_env(minio, AWS_SERVER_SIDE_ENCRYPTION="aws:kms", AWS_SSE_KMS_KEY_ID="no-such-key")
    refused = run_nlk("table", "append", uri, "--input", sample_file(tmp_path, "b.parquet", 300),
                      env=wrong, check=False)
    assert "server-side encryption" in refused.stderr, refused.stderr
    assert run_nlk("table", "history", uri, "--json", env=env).stdout == before
    assert count(uri, env) == 300

    unknown = nlk_env(minio, AWS_SERVER_SIDE_ENCRYPTION="aws:kms:dsse")
    refused = run_nlk("table", "append", uri, "--input", sample_file(tmp_path, "c.parquet", 600),
                      env=unknown, check=False)
    assert "AWS_SERVER_SIDE_ENCRYPTION" in refused.stderr, refused.stderr
    assert count(uri, env) == 300
