"""What the PySpark jobs in jobs/ share: the Spark session settings (Delta Lake, S3), the catalog
(which tables a job reads and writes, and who may write them), and incremental, idempotent
writes of derived tables. See docs/spark.md."""
