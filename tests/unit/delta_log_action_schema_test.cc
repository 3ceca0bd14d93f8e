// The action descriptions of delta/log/action_schema.h drive the JSON codec, the checkpoint
// reader and the checkpoint writer: every field set on an action must come back from a commit
// line and from a checkpoint, and the checkpoint's Parquet layout must stay the one Spark writes.
#include <arrow/api.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include "delta/log/action_json.h"
#include "delta/log/checkpoint_reader.h"
#include "delta/log/checkpoint_writer.h"
#include "delta/log/delta_log.h"
#include "delta/log/log_error.h"
#include "delta/log/log_files.h"
#include "delta_log_memory_store.h"

namespace nlk::delta {
namespace {

using testing::MemoryStore;

// Partitioned by p; the rest of the table does not matter here.
constexpr char kSchema[] =
    R"({"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"reading","type":"double","nullable":false,"metadata":{}}]})";

AddFile FullAdd() {
  AddFile add;
  add.path = "p=a b/part 1.parquet";
  add.partition_values = {{"p", "a b"}, {"q", std::nullopt}};
  add.size = 1234;
  add.modification_time = 99;
  add.data_change = true;
  add.stats = R"({"numRecords":3})";
  add.tags = StringMap{{"INSERTION_TIME", "1"}};
  add.deletion_vector = DeletionVectorDescriptor{'u', "ab^-aqEH.-t@S}K{vb[*k^", 4, 40, 7};
  add.base_row_id = 10;
  add.default_row_commit_version = 2;
  add.clustering_provider = "liquid";
  return add;
}

RemoveFile FullRemove() {
  RemoveFile remove;
  remove.path = "p=a b/part 0.parquet";
  remove.deletion_timestamp = 1'700'000'000'000;
  remove.data_change = true;
  remove.extended_file_metadata = true;
  remove.partition_values = PartitionValues{{"p", "a b"}};
  remove.size = 77;
  remove.stats = R"({"numRecords":1})";
  remove.tags = StringMap{{"k", "v"}};
  remove.deletion_vector = DeletionVectorDescriptor{
      'i', "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", std::nullopt, 40, 6};
  remove.base_row_id = 3;
  remove.default_row_commit_version = 1;
  return remove;
}

Metadata FullMetadata() {
  Metadata metadata;
  metadata.id = "0f0e0d0c-aaaa-bbbb-cccc-000000000001";
  metadata.name = "t";
  metadata.description = "d";
  metadata.format_options = {{"o", "1"}};
  metadata.schema_string = kSchema;
  metadata.partition_columns = {"p"};
  metadata.configuration = {{"delta.checkpoint.writeStatsAsJson", "true"}};
  metadata.created_time = 5;
  return metadata;
}

template <typename T>
T RoundTripJson(const T& action) {
  auto parsed = ParseActionLine(SerializeAction(action), "test", 1);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->has_value());
  return std::get<T>(**parsed);
}

void ExpectSameDv(const std::optional<DeletionVectorDescriptor>& a,
                  const std::optional<DeletionVectorDescriptor>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->storage_type, b->storage_type);
  EXPECT_EQ(a->path_or_inline_dv, b->path_or_inline_dv);
  EXPECT_EQ(a->offset, b->offset);
  EXPECT_EQ(a->size_in_bytes, b->size_in_bytes);
  EXPECT_EQ(a->cardinality, b->cardinality);
}

void ExpectSameAdd(const AddFile& a, const AddFile& b, bool data_change) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.partition_values, b.partition_values);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.modification_time, b.modification_time);
  EXPECT_EQ(b.data_change, data_change);
  EXPECT_EQ(a.stats, b.stats);
  EXPECT_EQ(a.tags, b.tags);
  ExpectSameDv(a.deletion_vector, b.deletion_vector);
  EXPECT_EQ(a.base_row_id, b.base_row_id);
  EXPECT_EQ(a.default_row_commit_version, b.default_row_commit_version);
  EXPECT_EQ(a.clustering_provider, b.clustering_provider);
}

TEST(ActionSchema, EveryFieldRoundTripsThroughACommitLine) {
  ExpectSameAdd(FullAdd(), RoundTripJson(FullAdd()), true);

  RemoveFile remove = RoundTripJson(FullRemove());
  EXPECT_EQ(remove.path, FullRemove().path);
  EXPECT_EQ(remove.deletion_timestamp, FullRemove().deletion_timestamp);
  EXPECT_EQ(remove.extended_file_metadata, true);
  EXPECT_EQ(remove.partition_values, FullRemove().partition_values);
  EXPECT_EQ(remove.size, 77);
  EXPECT_EQ(remove.stats, FullRemove().stats);
  EXPECT_EQ(remove.tags, FullRemove().tags);
  ExpectSameDv(remove.deletion_vector, FullRemove().deletion_vector);
  EXPECT_EQ(remove.base_row_id, 3);
  EXPECT_EQ(remove.default_row_commit_version, 1);

  Metadata metadata = RoundTripJson(FullMetadata());
  EXPECT_EQ(metadata.name, "t");
  EXPECT_EQ(metadata.description, "d");
  EXPECT_EQ(metadata.format_options, FullMetadata().format_options);
  EXPECT_EQ(metadata.configuration, FullMetadata().configuration);
  EXPECT_EQ(metadata.created_time, 5);

  AddCdcFile cdc = RoundTripJson(
      AddCdcFile{"_change_data/c 1.parquet", {{"p", "x"}}, 9, false, StringMap{{"a", "b"}}});
  EXPECT_EQ(cdc.path, "_change_data/c 1.parquet");
  EXPECT_EQ(cdc.size, 9);
  EXPECT_EQ(cdc.tags, (StringMap{{"a", "b"}}));

  Sidecar sidecar = RoundTripJson(Sidecar{"s.parquet", 10, 11, StringMap{{"t", "u"}}});
  EXPECT_EQ(sidecar.size_in_bytes, 10);
  EXPECT_EQ(sidecar.modification_time, 11);
  EXPECT_EQ(sidecar.tags, (StringMap{{"t", "u"}}));
}

TEST(ActionSchema, RequiredFieldsAreRequiredAndNameThemselves) {
  auto missing_size = ParseActionLine(R"({"add":{"path":"a","dataChange":true}})", "v.json", 3);
  ASSERT_FALSE(missing_size.ok());
  EXPECT_NE(missing_size.status().message().find("field 'add.size' is required"), std::string::npos)
      << missing_size.status().message();
  auto bad_dv = ParseActionLine(
      R"({"add":{"path":"a","size":1,"deletionVector":{"storageType":"uu","pathOrInlineDv":"x",)"
      R"("sizeInBytes":1,"cardinality":1}}})",
      "v.json", 4);
  ASSERT_FALSE(bad_dv.ok());
  EXPECT_NE(bad_dv.status().message().find("'add.deletionVector.storageType' must be one"),
            std::string::npos)
      << bad_dv.status().message();
  auto wide = ParseActionLine(
      R"({"protocol":{"minReaderVersion":4294967296,"minWriterVersion":7}})", "v.json", 5);
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("32-bit"), std::string::npos);
}

TEST(ActionSchema, EveryCheckpointFieldRoundTripsThroughACheckpoint) {
  auto store = std::make_shared<MemoryStore>();
  DeltaLogOptions options;
  options.clock = [] { return int64_t{1'700'000'000'000}; };
  auto log = *DeltaLog::Open(store, options);
  Protocol protocol{3, 7, std::vector<std::string>{"deletionVectors"},
                    std::vector<std::string>{"deletionVectors", "domainMetadata"}};
  SetTransaction txn{"app", 4, 123};
  DomainMetadata domain{"delta.clustering", R"({"clusteringColumns":[]})", false};
  AddFile gone = FullAdd();
  gone.path = FullRemove().path;
  gone.deletion_vector = FullRemove().deletion_vector;
  store->Put(CommitPath(0), SerializeActions({protocol, FullMetadata(), gone, txn, domain}));
  store->Put(CommitPath(1), SerializeActions({FullRemove(), FullAdd()}));
  auto snapshot = *log->AtVersion(1);
  int64_t num_actions = 0;
  auto parquet = BuildCheckpointParquet(*snapshot, 1'700'000'000'000, &num_actions);
  ASSERT_TRUE(parquet.ok()) << parquet.status().ToString();
  EXPECT_EQ(num_actions, 6);
  store->Put("checkpoint.parquet", (*parquet)->ToString());

  std::vector<Action> actions;
  auto read = ReadCheckpointParquet(
      *store, "checkpoint.parquet",
      {"txn", "add", "remove", "metaData", "protocol", "domainMetadata"}, [&](Action action) {
        actions.push_back(std::move(action));
        return arrow::Status::OK();
      });
  ASSERT_TRUE(read.ok()) << read.ToString();
  ASSERT_EQ(actions.size(), 6u);
  int seen = 0;
  for (const Action& action : actions) {
    if (auto* add = std::get_if<AddFile>(&action)) {
      ExpectSameAdd(FullAdd(), *add, false);  // a checkpoint changes no data
      ++seen;
    } else if (auto* remove = std::get_if<RemoveFile>(&action)) {
      EXPECT_EQ(remove->path, FullRemove().path);
      EXPECT_EQ(remove->deletion_timestamp, FullRemove().deletion_timestamp);
      EXPECT_FALSE(remove->data_change);
      EXPECT_EQ(remove->extended_file_metadata, true);
      EXPECT_EQ(remove->partition_values, FullRemove().partition_values);
      EXPECT_EQ(remove->size, 77);
      EXPECT_FALSE(remove->stats.has_value()) << "checkpoints carry no remove stats";
      EXPECT_FALSE(remove->tags.has_value()) << "checkpoints carry no remove tags";
      ExpectSameDv(remove->deletion_vector, FullRemove().deletion_vector);
      EXPECT_EQ(remove->base_row_id, 3);
      EXPECT_EQ(remove->default_row_commit_version, 1);
      ++seen;
    } else if (auto* metadata = std::get_if<Metadata>(&action)) {
      EXPECT_EQ(metadata->name, "t");
      EXPECT_EQ(metadata->description, "d");
      EXPECT_EQ(metadata->format_provider, "parquet");
      EXPECT_EQ(metadata->format_options, FullMetadata().format_options);
      EXPECT_EQ(metadata->schema_string, kSchema);
      EXPECT_EQ(metadata->partition_columns, std::vector<std::string>{"p"});
      EXPECT_EQ(metadata->configuration, FullMetadata().configuration);
      EXPECT_EQ(metadata->created_time, 5);
      ++seen;
    } else if (auto* read_protocol = std::get_if<Protocol>(&action)) {
      EXPECT_EQ(read_protocol->min_reader_version, 3);
      EXPECT_EQ(read_protocol->min_writer_version, 7);
      EXPECT_EQ(read_protocol->reader_features, protocol.reader_features);
      EXPECT_EQ(read_protocol->writer_features, protocol.writer_features);
      ++seen;
    } else if (auto* read_txn = std::get_if<SetTransaction>(&action)) {
      EXPECT_EQ(read_txn->app_id, "app");
      EXPECT_EQ(read_txn->version, 4);
      EXPECT_EQ(read_txn->last_updated, 123);
      ++seen;
    } else if (auto* read_domain = std::get_if<DomainMetadata>(&action)) {
      EXPECT_EQ(read_domain->domain, domain.domain);
      EXPECT_EQ(read_domain->configuration, domain.configuration);
      EXPECT_FALSE(read_domain->removed);
      ++seen;
    }
  }
  EXPECT_EQ(seen, 6);
}

// The checkpoint layout Spark writes (and other readers expect), spelled out independently of
// the description it is derived from.
TEST(ActionSchema, CheckpointColumnsAreSparks) {
  auto store = std::make_shared<MemoryStore>();
  auto log = *DeltaLog::Open(store, {});
  store->Put(CommitPath(0), SerializeActions({Protocol{1, 2, {}, {}}, FullMetadata()}));
  int64_t num_actions = 0;
  auto parquet = *BuildCheckpointParquet(**log->AtVersion(0), 0, &num_actions);
  store->Put("c.parquet", parquet->ToString());
  auto file = *store->OpenForRead("c.parquet");
  std::unique_ptr<parquet::arrow::FileReader> reader =
      *parquet::arrow::OpenFile(file, arrow::default_memory_pool());
  std::shared_ptr<arrow::Schema> schema;
  ASSERT_TRUE(reader->GetSchema(&schema).ok());
  auto names = [&](const std::string& column) {
    std::vector<std::string> out;
    for (const auto& field : schema->GetFieldByName(column)->type()->fields()) {
      out.push_back(field->name());
    }
    return out;
  };
  EXPECT_EQ(schema->field_names(), (std::vector<std::string>{"txn", "add", "remove", "metaData",
                                                             "protocol", "domainMetadata"}));
  EXPECT_EQ(names("txn"), (std::vector<std::string>{"appId", "version", "lastUpdated"}));
  EXPECT_EQ(names("add"),
            (std::vector<std::string>{"path", "partitionValues", "size", "modificationTime",
                                      "dataChange", "stats", "tags", "deletionVector", "baseRowId",
                                      "defaultRowCommitVersion", "clusteringProvider"}));
  EXPECT_EQ(names("remove"),
            (std::vector<std::string>{"path", "deletionTimestamp", "dataChange",
                                      "extendedFileMetadata", "partitionValues", "size",
                                      "deletionVector", "baseRowId", "defaultRowCommitVersion"}));
  EXPECT_EQ(names("metaData"),
            (std::vector<std::string>{"id", "name", "description", "format", "schemaString",
                                      "partitionColumns", "configuration", "createdTime"}));
  EXPECT_EQ(names("protocol"), (std::vector<std::string>{"minReaderVersion", "minWriterVersion",
                                                         "readerFeatures", "writerFeatures"}));
  EXPECT_EQ(names("domainMetadata"),
            (std::vector<std::string>{"domain", "configuration", "removed"}));
  auto add = schema->GetFieldByName("add")->type();
  EXPECT_EQ(add->field(7)->type()->ToString(),
            "struct<storageType: string, pathOrInlineDv: string, offset: int32, sizeInBytes: "
            "int32, cardinality: int64>");
  EXPECT_EQ(add->field(2)->type()->id(), arrow::Type::INT64);
  EXPECT_EQ(add->field(1)->type()->id(), arrow::Type::MAP);
}

}  // namespace
}  // namespace nlk::delta
