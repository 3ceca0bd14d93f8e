#include "server/path_redaction.h"

#include <gtest/gtest.h>

#include "server/api_error.h"

namespace nlk::server {
namespace {

PathRedactor Redactor() {
  return PathRedactor({TableConfig{.name = "samples", .uri = "/srv/lake/samples/"},
                       TableConfig{.name = "nested", .uri = "/srv/lake/samples/inner"},
                       TableConfig{.name = "remote", .uri = "s3://bucket/prefix/t"}});
}

TEST(PathRedactorTest, NamesFilesRelativeToTheTableRootAndNamesTheTable) {
  PathRedactor redactor = Redactor();
  EXPECT_EQ(redactor.Redact("object '/srv/lake/samples/date=2026-01-01/p.parquet' does not exist"),
            "table 'samples': object 'date=2026-01-01/p.parquet' does not exist");
  EXPECT_EQ(redactor.Redact("cannot read file:///srv/lake/samples/p.parquet"),
            "table 'samples': cannot read p.parquet");
  EXPECT_EQ(redactor.Redact("not found: s3://bucket/prefix/t/_delta_log/0.json"),
            "table 'remote': not found: _delta_log/0.json");
  // A nested root wins; the table root itself becomes the table's name.
  EXPECT_EQ(redactor.Redact("/srv/lake/samples/inner/x.parquet"), "table 'nested': x.parquet");
  EXPECT_EQ(redactor.Redact("not a Delta table: /srv/lake/samples (no _delta_log)"),
            "table 'samples': not a Delta table: samples (no _delta_log)");
  // A message that already names the table is not prefixed again.
  EXPECT_EQ(redactor.Redact("table 'samples': /srv/lake/samples/p.parquet is gone"),
            "table 'samples': p.parquet is gone");
  EXPECT_EQ(redactor.Redact("/srv/lake/samples/p.parquet", /*name_table=*/false), "p.parquet");
}

TEST(PathRedactorTest, LeavesOtherTextAlone) {
  PathRedactor redactor = Redactor();
  // A sibling whose name starts like a table root is another location.
  EXPECT_EQ(redactor.Redact("/srv/lake/samples2/p.parquet"), "/srv/lake/samples2/p.parquet");
  EXPECT_EQ(redactor.Redact("SQL error at position 8: bad"), "SQL error at position 8: bad");
}

TEST(PathRedactorTest, KeepsTheStatusCodeAndDetail) {
  arrow::Status status = WithApiError(arrow::Status::IOError("lost /srv/lake/samples/p.parquet"),
                                      500, "internal_error");
  arrow::Status redacted = Redactor().Redact(status);
  EXPECT_TRUE(redacted.IsIOError());
  EXPECT_EQ(redacted.message(), "table 'samples': lost p.parquet");
  EXPECT_EQ(DescribeError(redacted, "x").code, "internal_error");
}

}  // namespace
}  // namespace nlk::server
