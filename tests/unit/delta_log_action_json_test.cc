// The JSON codec of log actions, path encoding, _last_checkpoint and table properties.
#include <gtest/gtest.h>

#include "delta/log/action_json.h"
#include "delta/log/last_checkpoint.h"
#include "delta/log/log_error.h"
#include "delta/log/log_files.h"
#include "delta/log/path_encoding.h"
#include "delta/log/protocol_support.h"
#include "delta/log/table_properties.h"

namespace nlk::delta {
namespace {

Action RoundTrip(const Action& action) {
  auto parsed = ParseActionLine(SerializeAction(action));
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->has_value());
  return **parsed;
}

TEST(ActionJson, AddRoundTripKeepsEveryField) {
  AddFile add;
  add.path = "date=2024-01-01/part 1 ü%.parquet";
  add.partition_values = {{"date", "2024-01-01"}, {"region", std::nullopt}};
  add.size = 1234;
  add.modification_time = 1700000000000;
  add.data_change = false;
  add.stats = R"({"numRecords":3,"minValues":{"s":"a\"b"}})";
  add.tags = StringMap{{"INSERTION_TIME", "1"}};
  add.deletion_vector = DeletionVectorDescriptor{'u', "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 6};
  add.base_row_id = 7;
  add.default_row_commit_version = 3;
  add.clustering_provider = "liquid";
  const auto parsed = std::get<AddFile>(RoundTrip(add));
  EXPECT_EQ(parsed.path, add.path);
  EXPECT_EQ(parsed.partition_values, add.partition_values);
  EXPECT_EQ(parsed.size, 1234);
  EXPECT_EQ(parsed.modification_time, 1700000000000);
  EXPECT_FALSE(parsed.data_change);
  EXPECT_EQ(parsed.stats, add.stats);
  EXPECT_EQ(parsed.tags, add.tags);
  ASSERT_TRUE(parsed.deletion_vector);
  EXPECT_EQ(parsed.deletion_vector->UniqueId(), add.deletion_vector->UniqueId());
  EXPECT_EQ(parsed.deletion_vector->cardinality, 6);
  EXPECT_EQ(parsed.base_row_id, 7);
  EXPECT_EQ(parsed.default_row_commit_version, 3);
  EXPECT_EQ(parsed.clustering_provider, "liquid");
}

TEST(ActionJson, SerializationIsDeterministicWithSpecKeyOrder) {
  AddFile add;
  add.path = "a b.parquet";
  add.partition_values = {{"y", "2"}, {"x", std::nullopt}};
  add.size = 10;
  add.modification_time = 5;
  EXPECT_EQ(SerializeAction(add),
            R"({"add":{"path":"a%20b.parquet","partitionValues":{"x":null,"y":"2"},)"
            R"("size":10,"modificationTime":5,"dataChange":true}})");
  SetTransaction txn{"app", 4, std::nullopt};
  EXPECT_EQ(SerializeAction(txn), R"({"txn":{"appId":"app","version":4}})");
  Protocol protocol{3, 7, std::vector<std::string>{"deletionVectors"},
                    std::vector<std::string>{"deletionVectors", "appendOnly"}};
  EXPECT_EQ(SerializeAction(protocol), R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,)"
                                       R"("readerFeatures":["deletionVectors"],)"
                                       R"("writerFeatures":["deletionVectors","appendOnly"]}})");
}

TEST(ActionJson, EscapesStringsAsJsonRequires) {
  Metadata metadata;
  metadata.id = "id";
  metadata.schema_string = "quote\" backslash\\ newline\n tab\t bell\x07 utf8 é";
  metadata.configuration = {{"k", "v\r"}};
  const std::string line = SerializeAction(metadata);
  EXPECT_NE(line.find(R"(quote\" backslash\\ newline\n tab\t bell\u0007 utf8 é)"),
            std::string::npos)
      << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = std::get<Metadata>(RoundTrip(metadata));
  EXPECT_EQ(parsed.schema_string, metadata.schema_string);
  EXPECT_EQ(parsed.configuration, metadata.configuration);
}

TEST(ActionJson, InvalidUtf8IsStillValidJson) {
  DomainMetadata domain{"d", std::string("bad\xff\xfe", 5), false};
  auto parsed = ParseActionLine(SerializeAction(domain));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(std::get<DomainMetadata>(**parsed).configuration, "bad\u00ff\u00fe");
}

TEST(ActionJson, MetadataProtocolRemoveTxnDomainRoundTrip) {
  Metadata metadata;
  metadata.id = "af23c9d7";
  metadata.name = "events";
  metadata.schema_string = R"({"type":"struct","fields":[]})";
  metadata.partition_columns = {"date"};
  metadata.configuration = {{"delta.appendOnly", "true"}};
  metadata.created_time = 99;
  const auto parsed_metadata = std::get<Metadata>(RoundTrip(metadata));
  EXPECT_EQ(parsed_metadata.name, "events");
  EXPECT_EQ(parsed_metadata.partition_columns, metadata.partition_columns);
  EXPECT_EQ(parsed_metadata.configuration, metadata.configuration);
  EXPECT_EQ(parsed_metadata.created_time, 99);
  EXPECT_EQ(parsed_metadata.format_provider, "parquet");

  RemoveFile remove;
  remove.path = "x/y#z.parquet";
  remove.deletion_timestamp = 42;
  remove.extended_file_metadata = true;
  remove.partition_values = PartitionValues{{"date", "2024"}};
  remove.size = 9;
  const auto parsed_remove = std::get<RemoveFile>(RoundTrip(remove));
  EXPECT_EQ(parsed_remove.path, remove.path);
  EXPECT_EQ(parsed_remove.deletion_timestamp, 42);
  EXPECT_EQ(parsed_remove.partition_values, remove.partition_values);
  EXPECT_EQ(parsed_remove.size, 9);

  DomainMetadata domain{"com.example", R"({"a":1})", true};
  const auto parsed_domain = std::get<DomainMetadata>(RoundTrip(domain));
  EXPECT_EQ(parsed_domain.configuration, domain.configuration);
  EXPECT_TRUE(parsed_domain.removed);
}

TEST(ActionJson, UnknownActionsAndFieldsAreIgnored) {
  auto unknown = ParseActionLine(R"({"futureAction":{"x":1}})");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  auto add =
      ParseActionLine(R"({"add":{"path":"a","partitionValues":{},"size":1,"modificationTime":2,)"
                      R"("dataChange":true,"newField":[1,2,{"x":null}]}})");
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_EQ(std::get<AddFile>(**add).path, "a");
  auto blank = ParseActionLine("   ");
  ASSERT_TRUE(blank.ok());
  EXPECT_FALSE(blank->has_value());
}

TEST(ActionJson, CommitInfoKeepsRawJsonAndKnownFields) {
  auto parsed =
      ParseActionLine(R"({"commitInfo":{"timestamp":5,"inCommitTimestamp":7,"operation":"WRITE",)"
                      R"("isBlindAppend":true,"operationParameters":{"mode":"Append"}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const auto& info = std::get<CommitInfo>(**parsed);
  EXPECT_EQ(info.timestamp, 5);
  EXPECT_EQ(info.in_commit_timestamp, 7);
  EXPECT_EQ(info.operation, "WRITE");
  EXPECT_EQ(info.is_blind_append, true);
  EXPECT_NE(info.json.find(R"("mode":"Append")"), std::string::npos);
  EXPECT_EQ(SerializeAction(info), "{\"commitInfo\":" + info.json + "}");
}

TEST(ActionJson, MalformedJsonNamesFileAndLine) {
  const std::string contents =
      "{\"commitInfo\":{}}\n"
      "{\"add\":{\"path\":\"a\",\"size\":1,\"partitionValues\":{}}}\n"
      "{\"add\":{\"path\":\"b\",\"si";
  auto parsed = ParseActionLines(contents, "_delta_log/00000000000000000003.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(IsLogError(parsed.status(), LogErrorKind::kCorruptLog));
  EXPECT_NE(parsed.status().message().find("_delta_log/00000000000000000003.json line 3"),
            std::string::npos)
      << parsed.status().ToString();
}

TEST(ActionJson, WrongTypesNameTheField) {
  auto wrong_size = ParseActionLine(R"({"add":{"path":"a","size":"big"}})", "c.json", 7);
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(wrong_size.status().message().find("c.json line 7: field 'add.size' must be an "
                                               "integer, got a string"),
            std::string::npos)
      << wrong_size.status().ToString();
  auto missing_path = ParseActionLine(R"({"remove":{"dataChange":true}})");
  ASSERT_FALSE(missing_path.ok());
  EXPECT_NE(missing_path.status().message().find("'remove.path' is required"), std::string::npos);
  auto partition_type =
      ParseActionLine(R"({"add":{"path":"a","size":1,"partitionValues":{"p":1}}})");
  ASSERT_FALSE(partition_type.ok());
  auto not_object = ParseActionLine(R"([1,2])");
  ASSERT_FALSE(not_object.ok());
  auto action_not_object = ParseActionLine(R"({"add":"x"})");
  ASSERT_FALSE(action_not_object.ok());
  auto huge = ParseActionLine(R"({"txn":{"appId":"a","version":18446744073709551615}})");
  ASSERT_FALSE(huge.ok());
}

TEST(PathEncoding, MatchesSparkUriEncoding) {
  EXPECT_EQ(EncodeLogPath("date=2024-01-01/part-0.parquet"), "date=2024-01-01/part-0.parquet");
  EXPECT_EQ(EncodeLogPath("a b/c%d.parquet"), "a%20b/c%25d.parquet");
  EXPECT_EQ(EncodeLogPath("p=a:b+c,d;e@f&g$h!i~j*k'l(m)n"), "p=a:b+c,d;e@f&g$h!i~j*k'l(m)n");
  EXPECT_EQ(EncodeLogPath("q?#[]{}|\\^`<>\""), "q%3F%23%5B%5D%7B%7D%7C%5C%5E%60%3C%3E%22");
  EXPECT_EQ(EncodeLogPath("ü/日本.parquet"), "ü/日本.parquet");
  EXPECT_EQ(EncodeLogPath("nbsp\xC2\xA0x"), "nbsp%C2%A0x");
  EXPECT_EQ(EncodeLogPath("s3://bucket/a b.parquet"), "s3://bucket/a%20b.parquet");
  EXPECT_EQ(EncodeLogPath(std::string("bad\xff", 4)), "bad%FF");
}

TEST(PathEncoding, DecodeInvertsEncode) {
  for (const std::string path : {"a b/c%d.parquet", "x=%2F/y", "ü?#", "plain"}) {
    EXPECT_EQ(DecodeLogPath(EncodeLogPath(path)), path);
  }
  EXPECT_EQ(DecodeLogPath("a%2fb"), "a/b");
  EXPECT_EQ(DecodeLogPath("100%"), "100%");
  EXPECT_EQ(DecodeLogPath("a%zzb"), "a%zzb");
  EXPECT_EQ(DecodeLogPath("a+b"), "a+b");
}

TEST(LastCheckpoint, RoundTripAndTolerance) {
  LastCheckpoint value{12, 40, std::nullopt, 2048, 30};
  const std::string json = SerializeLastCheckpoint(value);
  EXPECT_EQ(json, R"({"version":12,"size":40,"sizeInBytes":2048,"numOfAddFiles":30})");
  auto parsed = ParseLastCheckpoint(R"({"version":12,"size":40,"parts":3,"checksum":"x",)"
                                    R"("checkpointSchema":{"type":"struct"}})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->version, 12);
  EXPECT_EQ(parsed->parts, 3);
  EXPECT_FALSE(ParseLastCheckpoint("{\"version\":").ok());
  EXPECT_FALSE(ParseLastCheckpoint("{\"size\":3}").ok());
}

TEST(LogFiles, ParsesEveryKindOfName) {
  auto parse = [](const std::string& name) {
    return ParseLogFile(storage::ObjectInfo{"_delta_log/" + name, 1, 1});
  };
  EXPECT_EQ(parse("00000000000000000007.json")->type, LogFileType::kCommit);
  EXPECT_EQ(parse("00000000000000000007.json")->version, 7);
  EXPECT_EQ(parse("00000000000000000007.crc")->type, LogFileType::kChecksum);
  EXPECT_EQ(parse("00000000000000000010.checkpoint.parquet")->type,
            LogFileType::kClassicCheckpoint);
  auto part = parse("00000000000000000010.checkpoint.0000000002.0000000003.parquet");
  ASSERT_TRUE(part);
  EXPECT_EQ(part->type, LogFileType::kMultiPartCheckpoint);
  EXPECT_EQ(part->part, 2);
  EXPECT_EQ(part->num_parts, 3);
  auto uuid = parse("00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json");
  ASSERT_TRUE(uuid);
  EXPECT_EQ(uuid->type, LogFileType::kUuidCheckpoint);
  EXPECT_TRUE(uuid->is_json);
  auto compaction = parse("00000000000000000004.00000000000000000006.compacted.json");
  ASSERT_TRUE(compaction);
  EXPECT_EQ(compaction->type, LogFileType::kCompaction);
  EXPECT_EQ(compaction->end_version, 6);
  EXPECT_FALSE(parse("_last_checkpoint"));
  EXPECT_FALSE(parse("7.json"));
  EXPECT_FALSE(parse("00000000000000000007.json.tmp"));
  EXPECT_FALSE(ParseLogFile(storage::ObjectInfo{"_delta_log/_sidecars/a.parquet", 1, 1}));
  EXPECT_EQ(CommitPath(42), "_delta_log/00000000000000000042.json");
}

TEST(TableProperties, ParsesIntervalsAndDefaults) {
  EXPECT_EQ(*ParseIntervalMilliseconds("interval 30 days"), 30 * kMillisecondsPerDay);
  EXPECT_EQ(*ParseIntervalMilliseconds("interval 1 week"), 7 * kMillisecondsPerDay);
  EXPECT_EQ(*ParseIntervalMilliseconds("2 hours"), 2 * 3600 * 1000);
  EXPECT_EQ(*ParseIntervalMilliseconds("INTERVAL 1 day 12 hours"), 36 * 3600 * 1000);
  EXPECT_EQ(*ParseIntervalMilliseconds("interval 1500 microseconds"), 1);
  EXPECT_FALSE(ParseIntervalMilliseconds("interval 1 month").ok());
  EXPECT_FALSE(ParseIntervalMilliseconds("interval days").ok());
  EXPECT_FALSE(ParseIntervalMilliseconds("").ok());

  StringMap empty;
  TableProperties defaults(empty);
  EXPECT_EQ(*defaults.checkpoint_interval(), 10);
  EXPECT_EQ(*defaults.log_retention_milliseconds(), 30 * kMillisecondsPerDay);
  EXPECT_EQ(*defaults.deleted_file_retention_milliseconds(), 7 * kMillisecondsPerDay);
  EXPECT_TRUE(defaults.expired_log_cleanup_enabled());
  StringMap configured = {{"delta.checkpointInterval", "3"},
                          {"delta.logRetentionDuration", "interval 2 days"},
                          {"delta.appendOnly", "TRUE"}};
  TableProperties properties(configured);
  EXPECT_EQ(*properties.checkpoint_interval(), 3);
  EXPECT_EQ(*properties.log_retention_milliseconds(), 2 * kMillisecondsPerDay);
  EXPECT_TRUE(properties.append_only());
  StringMap bad = {{"delta.checkpointInterval", "0"}};
  EXPECT_FALSE(TableProperties(bad).checkpoint_interval().ok());
}

TEST(ProtocolSupport, RefusesUnknownReaderFeaturesByName) {
  EXPECT_TRUE(CheckReadSupported(Protocol{1, 2, std::nullopt, std::nullopt}).ok());
  EXPECT_TRUE(
      CheckReadSupported(Protocol{3, 7, std::vector<std::string>{"deletionVectors", "v2Checkpoint"},
                                  std::vector<std::string>{}})
          .ok());
  auto status = CheckReadSupported(
      Protocol{3, 7, std::vector<std::string>{"deletionVectors", "futureMagic"}, std::nullopt});
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(IsLogError(status, LogErrorKind::kUnsupportedFeature));
  EXPECT_NE(status.message().find("futureMagic"), std::string::npos);
  EXPECT_EQ(status.message().find("deletionVectors"), std::string::npos);
  EXPECT_FALSE(CheckReadSupported(Protocol{4, 7, std::nullopt, std::nullopt}).ok());
}

TEST(ProtocolSupport, WriterFeaturesAreRefusedUnlessHonoured) {
  Metadata plain;
  plain.schema_string = R"({"type":"struct","fields":[{"name":"x","type":"long",)"
                        R"("nullable":true,"metadata":{}}]})";
  EXPECT_TRUE(CheckWriteSupported(Protocol{1, 2, std::nullopt, std::nullopt}, plain).ok());
  EXPECT_TRUE(CheckWriteSupported(Protocol{1, 6, std::nullopt, std::nullopt}, plain).ok());
  auto row_tracking = CheckWriteSupported(
      Protocol{1, 7, std::nullopt, std::vector<std::string>{"appendOnly", "rowTracking"}}, plain);
  ASSERT_FALSE(row_tracking.ok());
  EXPECT_NE(row_tracking.message().find("rowTracking"), std::string::npos);

  Metadata with_invariant = plain;
  with_invariant.schema_string =
      R"({"type":"struct","fields":[{"name":"x","type":"long","nullable":true,)"
      R"("metadata":{"delta.invariants":"{\"expression\":{\"expression\":\"x > 3\"}}"}}]})";
  auto invariants = CheckWriteSupported(Protocol{1, 2, std::nullopt, std::nullopt}, with_invariant);
  ASSERT_FALSE(invariants.ok());
  EXPECT_NE(invariants.message().find("invariants"), std::string::npos);

  Metadata with_constraint = plain;
  with_constraint.configuration = {{"delta.constraints.positive", "x > 0"}};
  EXPECT_FALSE(
      CheckWriteSupported(Protocol{1, 3, std::nullopt, std::nullopt}, with_constraint).ok());
  // Writer version 2 does not support CHECK constraints, so the property means nothing there.
  EXPECT_TRUE(
      CheckWriteSupported(Protocol{1, 2, std::nullopt, std::nullopt}, with_constraint).ok());
}

}  // namespace
}  // namespace nlk::delta
