"""Spark settings for Delta Lake tables on a local disk, MinIO or AWS S3.

S3 settings come from the same variables nlk reads (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP), so one
`eval "$(scripts/minio.sh env)"` configures both engines. `s3://` URIs, which the catalog and nlk
use, are served by Hadoop's S3A like `s3a://` ones, so a catalog URI works in Spark as written.

The jars (delta-spark, hadoop-aws, the AWS SDK) must already be on the class path:
`scripts/spark.sh submit` puts them there, and tests pass `NLK_SPARK_CLASSPATH` to
`class_path_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class SettingsError(ValueError):
    """The environment asks for something Spark cannot be set up to do (the message says what)."""


def delta_settings() -> dict[str, str]:
    return {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        # Timestamps are UTC instants everywhere in Neuralake; dates are UTC days.
        "spark.sql.session.timeZone": "UTC",
    }


def s3_settings(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Hadoop S3A settings (as spark.hadoop.* keys) from the AWS_* variables.

    Without AWS_ACCESS_KEY_ID, S3A falls back to its default credential chain (instance profiles,
    web identity), which is what a cluster on AWS uses. The keys travel to the executors inside
    the Hadoop configuration, so workers need no AWS_* variables of their own.
    """
    hadoop = {
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
    }
    endpoint = env.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint:
        plain_http = endpoint.lower().startswith("http://")
        if plain_http and env.get("AWS_ALLOW_HTTP", "").lower() != "true":
            raise SettingsError(
                f"AWS_ENDPOINT_URL={endpoint} is plain http; set AWS_ALLOW_HTTP=true to allow it "
                "(as nlk requires)")
        hadoop["fs.s3a.endpoint"] = endpoint
        hadoop["fs.s3a.connection.ssl.enabled"] = "false" if plain_http else "true"
        # MinIO and most S3-compatible servers serve buckets as paths, not as host names.
        hadoop["fs.s3a.path.style.access"] = "true"
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if region:
        hadoop["fs.s3a.endpoint.region"] = region
    key = env.get("AWS_ACCESS_KEY_ID", "")
    secret = env.get("AWS_SECRET_ACCESS_KEY", "")
    if bool(key) != bool(secret):
        raise SettingsError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together")
    if key:
        hadoop["fs.s3a.access.key"] = key
        hadoop["fs.s3a.secret.key"] = secret
        token = env.get("AWS_SESSION_TOKEN", "")
        if token:
            hadoop["fs.s3a.session.token"] = token
            hadoop["fs.s3a.aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider")
        else:
            hadoop["fs.s3a.aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
    return {f"spark.hadoop.{name}": value for name, value in hadoop.items()}


def class_path_settings(class_path: str) -> dict[str, str]:
    """The jars as driver and executor class path entries (colon separated paths)."""
    return {"spark.driver.extraClassPath": class_path,
            "spark.executor.extraClassPath": class_path}


def session_settings(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    return {**delta_settings(), **s3_settings(env)}


def get_session(app_name: str, env: Mapping[str, str] = os.environ):
    """The SparkSession of a job: master, class path and memory come from spark-submit."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in session_settings(env).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
