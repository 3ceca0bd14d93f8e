#include "ingest/message_decoder.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "datagen/neural_generator.h"
#include "ingest/batch_accumulator.h"
#include "ingest/dead_letter.h"
#include "ingest/iso8601.h"

namespace nlk::ingest {
namespace {

std::shared_ptr<arrow::DataType> UtcMicros() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

// Every column type JSON messages can fill, required and nullable.
std::shared_ptr<arrow::Schema> AllTypesSchema() {
  return arrow::schema({
      arrow::field("flag", arrow::boolean()),
      arrow::field("tiny", arrow::int8()),
      arrow::field("small", arrow::int16()),
      arrow::field("channel", arrow::int32(), false),
      arrow::field("sequence", arrow::int64()),
      arrow::field("voltage", arrow::float32()),
      arrow::field("power", arrow::float64()),
      arrow::field("day", arrow::date32()),
      arrow::field("timestamp", UtcMicros(), false),
      arrow::field("at_ms", arrow::timestamp(arrow::TimeUnit::MILLI)),
      arrow::field("device_id", arrow::utf8(), false),
      arrow::field("note", arrow::large_utf8()),
      arrow::field("blob", arrow::binary()),
  });
}

std::shared_ptr<arrow::Buffer> Bytes(const std::string& text) {
  return arrow::Buffer::FromString(text);
}

KafkaMessage Message(std::shared_ptr<arrow::Buffer> payload, int64_t offset = 7) {
  KafkaMessage message;
  message.topic = "samples";
  message.partition = 3;
  message.offset = offset;
  message.timestamp_ms = 1767225600123;
  message.key = "device-001";
  message.payload = std::move(payload);
  return message;
}

std::shared_ptr<arrow::RecordBatch> BatchFromJson(const std::shared_ptr<arrow::Schema>& schema,
                                                  const std::string& rows) {
  auto array = arrow::json::ArrayFromJSONString(arrow::struct_(schema->fields()), rows);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  auto batch = arrow::RecordBatch::FromStructArray(*array).ValueOrDie();
  // FromStructArray marks every column nullable; put the real schema back.
  return arrow::RecordBatch::Make(schema, batch->num_rows(), batch->columns());
}

std::shared_ptr<arrow::Buffer> IpcStream(const std::shared_ptr<arrow::RecordBatch>& batch) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto writer = arrow::ipc::MakeStreamWriter(sink, batch->schema()).ValueOrDie();
  EXPECT_TRUE(writer->WriteRecordBatch(*batch).ok());
  EXPECT_TRUE(writer->Close().ok());
  return sink->Finish().ValueOrDie();
}

class Decoding {
 public:
  explicit Decoding(std::shared_ptr<arrow::Schema> schema, DecoderOptions options = {})
      : decoder_(options), accumulator_(BatchAccumulator::Make(std::move(schema)).ValueOrDie()) {}

  // The dead letter's reason, or "" when the message was accepted.
  std::string Decode(const KafkaMessage& message) {
    auto result = decoder_.Decode(message, *accumulator_);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    if (!result.ok() || !result->has_value()) return "";
    dead_letters_.push_back(**result);
    return (*result)->reason;
  }
  std::string DecodeJson(const std::string& json, int64_t offset = 7) {
    return Decode(Message(Bytes(json), offset));
  }

  std::shared_ptr<arrow::RecordBatch> Flush() {
    auto batch = accumulator_->Flush();
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    EXPECT_TRUE(batch.ok() && (*batch)->ValidateFull().ok());
    return batch.ValueOr(nullptr);
  }

  BatchAccumulator& accumulator() { return *accumulator_; }
  const std::vector<DeadLetter>& dead_letters() const { return dead_letters_; }

 private:
  MessageDecoder decoder_;
  std::unique_ptr<BatchAccumulator> accumulator_;
  std::vector<DeadLetter> dead_letters_;
};

TEST(MessageFormat, ParsesNames) {
  EXPECT_EQ(*ParseMessageFormat("json"), MessageFormat::kJson);
  EXPECT_EQ(*ParseMessageFormat("arrow"), MessageFormat::kArrow);
  EXPECT_EQ(MessageFormatName(MessageFormat::kArrow), "arrow");
  auto unknown = ParseMessageFormat("avro");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("expected json or arrow"), std::string::npos);
}

TEST(JsonDecoding, EveryColumnType) {
  Decoding decoding(AllTypesSchema());
  EXPECT_EQ(decoding.DecodeJson(R"({"flag": true, "tiny": -128, "small": 32767,
      "channel": 5, "sequence": 9007199254740993, "voltage": -12.5, "power": 1e-3,
      "day": "2026-01-02", "timestamp": "2026-01-01T00:00:01.000002Z",
      "at_ms": "2026-01-01T01:00:00.5+01:00", "device_id": "device-001", "note": "é\n",
      "blob": "raw"})"),
            "");
  // Numbers for timestamps count the column's unit; dates count days; ints fill doubles.
  EXPECT_EQ(decoding.DecodeJson(R"({"channel": -7, "timestamp": 1767225600000000, "day": 20454,
      "at_ms": 1767225600000, "power": 3, "device_id": "device-002"})"),
            "");
  auto batch = decoding.Flush();
  auto expected = BatchFromJson(AllTypesSchema(), R"([
    [true, -128, 32767, 5, 9007199254740993, -12.5, 0.001, 20455, 1767225601000002,
     1767225600500, "device-001", "é\n", "raw"],
    [null, null, null, -7, null, null, 3.0, 20454, 1767225600000000, 1767225600000,
     "device-002", null, null]
  ])");
  EXPECT_TRUE(batch->Equals(*expected)) << batch->ToString() << "\nexpected\n"
                                        << expected->ToString();
  EXPECT_TRUE(decoding.dead_letters().empty());
}

TEST(JsonDecoding, TimestampForms) {
  auto schema = arrow::schema({arrow::field("timestamp", UtcMicros())});
  Decoding decoding(schema);
  for (const char* text :
       {"2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01 00:00:00",
        "2026-01-01T00:00:00.000000Z", "2026-01-01T01:30:00+01:30", "2025-12-31T23:00:00-0100",
        "2026-01-01T00:00Z", "2026-01-01", "2026-01-01T02:00:00+02"}) {
    EXPECT_EQ(decoding.DecodeJson(std::string(R"({"timestamp": ")") + text + "\"}"), "") << text;
  }
  auto batch = decoding.Flush();
  auto values = std::static_pointer_cast<arrow::TimestampArray>(batch->column(0));
  for (int64_t i = 0; i < values->length(); ++i) {
    EXPECT_EQ(values->Value(i), 1767225600000000) << "row " << i;
  }
}

TEST(JsonDecoding, MissingAndNullFields) {
  Decoding decoding(AllTypesSchema());
  EXPECT_EQ(decoding.DecodeJson(
                R"({"channel": 1, "timestamp": 0, "device_id": "d", "flag": null, "note": null})"),
            "");
  auto batch = decoding.Flush();
  ASSERT_EQ(batch->num_rows(), 1);
  for (const char* nullable : {"flag", "tiny", "note", "blob", "day"}) {
    EXPECT_TRUE(batch->GetColumnByName(nullable)->IsNull(0)) << nullable;
  }
}

struct BadJson {
  std::string json;
  std::string reason;
};

TEST(JsonDecoding, BadMessagesBecomeDeadLettersWithReasons) {
  const std::string valid = R"("channel": 1, "timestamp": 0, "device_id": "d")";
  const std::vector<BadJson> cases = {
      {R"({"channel": 1,)", "not valid JSON"},
      {"not json at all", "not valid JSON"},
      {"[1, 2]", "expected a JSON object, got an array"},
      {"42", "expected a JSON object, got an integer"},
      {R"({"timestamp": 0, "device_id": "d"})", "missing required field 'channel'"},
      {R"({"channel": null, "timestamp": 0, "device_id": "d"})",
       "field 'channel' is null but required"},
      {R"({"channel": "1", "timestamp": 0, "device_id": "d"})",
       "field 'channel' (int32): expected an integer, got a string"},
      {R"({"channel": 2147483648, "timestamp": 0, "device_id": "d"})",
       "field 'channel' (int32): 2147483648 is out of range"},
      {R"({"channel": 1.5, "timestamp": 0, "device_id": "d"})",
       "expected an integer, got a fractional number"},
      {R"({"channel": 18446744073709551615, "timestamp": 0, "device_id": "d"})", "out of range"},
      {R"({"channel": 1, "timestamp": 0, "device_id": 7})",
       "field 'device_id' (string): expected a string, got an integer"},
      {("{" + valid + R"(, "tiny": 128})"), "128 is out of range"},
      {("{" + valid + R"(, "flag": 1})"), "expected true or false"},
      {("{" + valid + R"(, "voltage": 1e39})"), "1e39 is out of range"},
      {("{" + valid + R"(, "power": "1.0"})"), "expected a number, got a string"},
      {R"({"channel": 1, "timestamp": "yesterday", "device_id": "d"})",
       "'yesterday' is not an ISO-8601 timestamp"},
      {R"({"channel": 1, "timestamp": "2026-01-01T25:00:00Z", "device_id": "d"})",
       "not an ISO-8601 timestamp"},
      {R"({"channel": 1, "timestamp": true, "device_id": "d"})",
       "expected an ISO-8601 string or an integer count since the epoch, got a boolean"},
      {("{" + valid + R"(, "day": "2026-02-30"})"), "'2026-02-30' is not an ISO-8601 date"},
      {("{" + valid + R"(, "day": 1.5})"), "got a fractional number"},
      {("{" + valid + R"(, "extra": 1})"),
       "unknown field 'extra': the table has no such column (enable schema evolution to add it)"},
      {("{" + valid + R"(, "channel": 2})"), "field 'channel' appears more than once"},
      {("{" + valid + R"(, "note": ["a"]})"), "got an array"},
      {("{" + valid + R"(, "sequence": 9223372036854775808})"),
       "9223372036854775808 is out of range"},
      {("{" + valid + ", \"note\": \"\xff\xfe\"}"), "the string is not valid UTF-8"},
      {"", "empty payload"},
  };
  Decoding decoding(AllTypesSchema());
  int64_t offset = 100;
  for (const auto& [json, reason] : cases) {
    std::string got = decoding.DecodeJson(json, offset++);
    EXPECT_NE(got.find(reason), std::string::npos)
        << "message: " << json << "\nreason: " << got << "\nwanted: " << reason;
    EXPECT_EQ(decoding.accumulator().num_rows(), 0) << json;
  }
  ASSERT_EQ(decoding.dead_letters().size(), cases.size());
  EXPECT_EQ(decoding.Flush()->num_rows(), 0);
}

TEST(JsonDecoding, BinaryPayloadIsADeadLetter) {
  auto schema = datagen::SchemaFor(datagen::StreamKind::kSamples);
  Decoding decoding(schema);
  auto batch = BatchFromJson(schema, R"([["d", "s", 1, 0, 0, 0, 0.5]])");
  EXPECT_NE(decoding.Decode(Message(IpcStream(batch))).find("not valid JSON"), std::string::npos);
}

TEST(JsonDecoding, DeadLetterKeepsTheWholeMessage) {
  Decoding decoding(AllTypesSchema());
  const std::string payload = R"({"channel": "x"})";
  EXPECT_NE(decoding.DecodeJson(payload, 42), "");
  ASSERT_EQ(decoding.dead_letters().size(), 1u);
  const DeadLetter& letter = decoding.dead_letters()[0];
  EXPECT_EQ(letter.topic, "samples");
  EXPECT_EQ(letter.partition, 3);
  EXPECT_EQ(letter.offset, 42);
  EXPECT_EQ(letter.timestamp_ms, 1767225600123);
  EXPECT_EQ(letter.key, "device-001");
  EXPECT_EQ(letter.payload->ToString(), payload);
}

TEST(JsonDecoding, MixedGoodAndBadKeepOrderAndCounts) {
  Decoding decoding(AllTypesSchema());
  int good = 0;
  int bad = 0;
  for (int i = 0; i < 300; ++i) {
    std::string json;
    if (i % 7 == 3) {
      json = R"({"channel": "oops", "timestamp": 0, "device_id": "d"})";
      ++bad;
    } else if (i % 11 == 5) {
      json = "{broken";
      ++bad;
    } else {
      json = R"({"channel": )" + std::to_string(i) + R"(, "timestamp": 0, "device_id": "d"})";
      ++good;
    }
    decoding.DecodeJson(json, i);
  }
  auto batch = decoding.Flush();
  ASSERT_EQ(batch->num_rows(), good);
  ASSERT_EQ(static_cast<int>(decoding.dead_letters().size()), bad);
  auto channels = std::static_pointer_cast<arrow::Int32Array>(batch->GetColumnByName("channel"));
  int64_t row = 0;
  for (int i = 0; i < 300; ++i) {
    if (i % 7 == 3 || i % 11 == 5) continue;
    EXPECT_EQ(channels->Value(row++), i);
  }
  for (const DeadLetter& letter : decoding.dead_letters()) {
    EXPECT_TRUE(letter.offset % 7 == 3 || letter.offset % 11 == 5) << letter.offset;
  }
}

TEST(JsonDecoding, SchemaEvolutionAddsNullableColumns) {
  auto schema = arrow::schema({arrow::field("channel", arrow::int32(), false)});
  Decoding decoding(schema, {MessageFormat::kJson, /*schema_evolution=*/true});
  EXPECT_EQ(decoding.DecodeJson(R"({"channel": 1})"), "");
  EXPECT_EQ(decoding.DecodeJson(
                R"({"channel": 2, "gain": 3, "impedance": 1.5, "site": "CA1", "ok": true})"),
            "");
  EXPECT_EQ(decoding.DecodeJson(R"({"channel": 3, "site": "CA3", "later": null})"), "");
  // A nested value cannot become a column; the message is rejected and the schema is untouched.
  EXPECT_NE(decoding.DecodeJson(R"({"channel": 4, "nested": {"a": 1}})")
                .find("new field 'nested' holds an object"),
            std::string::npos);
  // A rejected message must not add its new fields either.
  EXPECT_NE(decoding.DecodeJson(R"({"channel": "bad", "ghost": 1})"), "");
  // Once added, a column is typed like any other.
  EXPECT_NE(decoding.DecodeJson(R"({"channel": 5, "gain": "high"})").find("expected an integer"),
            std::string::npos);
  auto batch = decoding.Flush();
  auto expected_schema = arrow::schema({
      arrow::field("channel", arrow::int32(), false),
      arrow::field("gain", arrow::int64()),
      arrow::field("impedance", arrow::float64()),
      arrow::field("site", arrow::utf8()),
      arrow::field("ok", arrow::boolean()),
  });
  auto expected = BatchFromJson(expected_schema, R"([
    [1, null, null, null, null],
    [2, 3, 1.5, "CA1", true],
    [3, null, null, "CA3", null]
  ])");
  EXPECT_TRUE(batch->Equals(*expected)) << batch->ToString();
  EXPECT_TRUE(batch->schema()->Equals(*expected_schema)) << batch->schema()->ToString();
}

TEST(ArrowDecoding, GeneratorBatchesRoundTripWithoutCopying) {
  datagen::GeneratorOptions options;
  options.duration_seconds = 0.05;
  options.batch_rows = 1000;
  auto reader = datagen::MakeNeuralReader(options).ValueOrDie();
  auto schema = datagen::SchemaFor(datagen::StreamKind::kSamples);
  Decoding decoding(schema, {MessageFormat::kArrow});
  std::vector<std::shared_ptr<arrow::RecordBatch>> sent;
  std::vector<std::shared_ptr<arrow::Buffer>> payloads;
  for (auto batch = reader->Next().ValueOrDie(); batch; batch = reader->Next().ValueOrDie()) {
    sent.push_back(batch);
    payloads.push_back(IpcStream(batch));
    EXPECT_EQ(decoding.Decode(Message(payloads.back())), "");
  }
  ASSERT_GT(sent.size(), 1u);
  auto expected = arrow::ConcatenateRecordBatches(sent).ValueOrDie();
  int64_t buffered = decoding.accumulator().buffered_bytes();
  EXPECT_GT(buffered, 0);
  auto batch = decoding.Flush();
  EXPECT_TRUE(batch->Equals(*expected));
  EXPECT_EQ(decoding.accumulator().buffered_bytes(), 0);

  // One message alone flushes as the message's own buffers: the payload is not copied.
  Decoding single(schema, {MessageFormat::kArrow});
  EXPECT_EQ(single.Decode(Message(payloads[0])), "");
  auto column = single.Flush()->GetColumnByName("voltage_uv");
  const uint8_t* values = column->data()->buffers[1]->data();
  EXPECT_GE(values, payloads[0]->data());
  EXPECT_LT(values, payloads[0]->data() + payloads[0]->size());
}

TEST(ArrowDecoding, ColumnsMatchedByNameAndMissingNullableFilled) {
  auto schema = arrow::schema({arrow::field("channel", arrow::int32(), false),
                               arrow::field("device_id", arrow::utf8(), false),
                               arrow::field("note", arrow::utf8())});
  Decoding decoding(schema, {MessageFormat::kArrow});
  auto message_schema = arrow::schema(
      {arrow::field("device_id", arrow::utf8()), arrow::field("channel", arrow::int32())});
  EXPECT_EQ(
      decoding.Decode(Message(IpcStream(BatchFromJson(message_schema, R"([["a", 1], ["b", 2]])")))),
      "");
  auto expected = BatchFromJson(schema, R"([[1, "a", null], [2, "b", null]])");
  auto batch = decoding.Flush();
  EXPECT_TRUE(batch->Equals(*expected)) << batch->ToString();
}

TEST(ArrowDecoding, BadStreamsBecomeDeadLetters) {
  auto schema = arrow::schema(
      {arrow::field("channel", arrow::int32(), false), arrow::field("note", arrow::utf8())});
  Decoding decoding(schema, {MessageFormat::kArrow});
  auto good = IpcStream(BatchFromJson(schema, R"([[1, "x"]])"));

  EXPECT_NE(decoding.Decode(Message(Bytes("definitely not arrow"))).find("not an Arrow IPC stream"),
            std::string::npos);
  auto truncated = arrow::SliceBuffer(good, 0, good->size() - 20);
  EXPECT_NE(decoding.Decode(Message(truncated)).find("Arrow"), std::string::npos);

  auto wrong_type = arrow::schema({arrow::field("channel", arrow::int64())});
  EXPECT_NE(decoding.Decode(Message(IpcStream(BatchFromJson(wrong_type, "[[1]]"))))
                .find("column 'channel' has type int64 but the table expects int32"),
            std::string::npos);

  auto no_channel = arrow::schema({arrow::field("note", arrow::utf8())});
  EXPECT_NE(decoding.Decode(Message(IpcStream(BatchFromJson(no_channel, R"([["x"]])"))))
                .find("missing required column 'channel'"),
            std::string::npos);

  auto nullable_channel = arrow::schema({arrow::field("channel", arrow::int32())});
  EXPECT_NE(decoding.Decode(Message(IpcStream(BatchFromJson(nullable_channel, "[[1], [null]]"))))
                .find("column 'channel' is required but holds 1 nulls"),
            std::string::npos);

  auto extra = arrow::schema(
      {arrow::field("channel", arrow::int32()), arrow::field("gain", arrow::float64())});
  EXPECT_NE(decoding.Decode(Message(IpcStream(BatchFromJson(extra, "[[1, 2.0]]"))))
                .find("unknown column 'gain'"),
            std::string::npos);

  EXPECT_EQ(decoding.accumulator().num_rows(), 0);
  EXPECT_EQ(decoding.dead_letters().size(), 6u);
  EXPECT_EQ(decoding.Decode(Message(good)), "");
  EXPECT_EQ(decoding.Flush()->num_rows(), 1);
}

TEST(ArrowDecoding, SchemaEvolutionAddsColumns) {
  auto schema = arrow::schema({arrow::field("channel", arrow::int32(), false)});
  Decoding decoding(schema, {MessageFormat::kArrow, /*schema_evolution=*/true});
  EXPECT_EQ(decoding.Decode(Message(IpcStream(BatchFromJson(schema, "[[1]]")))), "");
  auto extra = arrow::schema(
      {arrow::field("channel", arrow::int32()), arrow::field("gain", arrow::float64())});
  EXPECT_EQ(decoding.Decode(Message(IpcStream(BatchFromJson(extra, "[[2, 0.5]]")))), "");
  auto nested = arrow::schema(
      {arrow::field("channel", arrow::int32()), arrow::field("tags", arrow::list(arrow::utf8()))});
  EXPECT_NE(decoding.Decode(Message(IpcStream(BatchFromJson(nested, R"([[3, ["a"]]])")))), "");
  auto batch = decoding.Flush();
  auto expected_schema = arrow::schema(
      {arrow::field("channel", arrow::int32(), false), arrow::field("gain", arrow::float64())});
  EXPECT_TRUE(batch->Equals(*BatchFromJson(expected_schema, "[[1, null], [2, 0.5]]")))
      << batch->ToString();
}

// `strings` as dictionary<index_type, string> with the given dictionary and indices.
std::shared_ptr<arrow::Array> Dictionary(const std::shared_ptr<arrow::DataType>& index_type,
                                         const std::string& indices,
                                         const std::string& dictionary) {
  auto type = arrow::dictionary(index_type, arrow::utf8());
  return arrow::DictionaryArray::FromArrays(
             type, arrow::json::ArrayFromJSONString(index_type, indices).ValueOrDie(),
             arrow::json::ArrayFromJSONString(arrow::utf8(), dictionary).ValueOrDie())
      .ValueOrDie();
}

std::shared_ptr<arrow::RecordBatch> WithColumn(const std::shared_ptr<arrow::RecordBatch>& batch,
                                               const std::string& name,
                                               std::shared_ptr<arrow::Array> column) {
  int index = batch->schema()->GetFieldIndex(name);
  auto field = batch->schema()->field(index)->WithType(column->type());
  return batch->SetColumn(index, field, std::move(column)).ValueOrDie();
}

TEST(ArrowDecoding, DictionaryEncodedStringsAreTakenAsTheyAre) {
  auto schema = arrow::schema({arrow::field("device_id", arrow::utf8(), false),
                               arrow::field("channel", arrow::int32(), false),
                               arrow::field("note", arrow::utf8())});
  Decoding decoding(schema, {MessageFormat::kArrow});
  auto plain = BatchFromJson(schema, R"([["d1", 1, "x"], ["d1", 2, null], ["d1", 3, "y"]])");
  // int32 indices, one value; int8 indices with a null row in a nullable column.
  auto first = WithColumn(plain, "device_id", Dictionary(arrow::int32(), "[0, 0, 0]", R"(["d1"])"));
  first = WithColumn(first, "note", Dictionary(arrow::int8(), "[1, null, 0]", R"(["y", "x"])"));
  EXPECT_EQ(decoding.Decode(Message(IpcStream(first))), "");
  EXPECT_EQ(decoding.Decode(Message(IpcStream(plain))), "");

  // The pieces keep the dictionaries (indices as int32) for the writer ...
  auto pieces = decoding.accumulator().TakeBatches().ValueOrDie();
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_TRUE(
      pieces[0]->column(0)->type()->Equals(arrow::dictionary(arrow::int32(), arrow::utf8())));
  EXPECT_TRUE(
      pieces[0]->column(2)->type()->Equals(arrow::dictionary(arrow::int32(), arrow::utf8())));
  EXPECT_TRUE(pieces[0]->schema()->field(2)->type()->Equals(*pieces[0]->column(2)->type()));
  EXPECT_TRUE(pieces[1]->schema()->Equals(*schema));
  EXPECT_TRUE(pieces[0]->ValidateFull().ok());

  // ... and a flush decodes them to the table's strings.
  EXPECT_EQ(decoding.Decode(Message(IpcStream(first))), "");
  EXPECT_EQ(decoding.Decode(Message(IpcStream(plain))), "");
  auto batch = decoding.Flush();
  EXPECT_TRUE(batch->Equals(*arrow::ConcatenateRecordBatches({plain, plain}).ValueOrDie()))
      << batch->ToString();
}

TEST(ArrowDecoding, BadDictionariesBecomeDeadLetters) {
  auto schema = arrow::schema(
      {arrow::field("device_id", arrow::utf8(), false), arrow::field("sequence", arrow::int64())});
  Decoding decoding(schema, {MessageFormat::kArrow});
  auto plain = BatchFromJson(schema, R"([["d1", 1], ["d2", 2]])");

  // An index past the dictionary's end.
  auto indices = arrow::json::ArrayFromJSONString(arrow::int32(), "[0, 5]").ValueOrDie();
  auto values = arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["d1"])").ValueOrDie();
  auto out_of_range = std::make_shared<arrow::DictionaryArray>(
      arrow::dictionary(arrow::int32(), arrow::utf8()), indices, values);
  EXPECT_NE(decoding.Decode(Message(IpcStream(WithColumn(plain, "device_id", out_of_range))))
                .find("an invalid Arrow record batch"),
            std::string::npos);

  // A null entry in the dictionary would be a null its null count does not show.
  EXPECT_NE(decoding
                .Decode(Message(IpcStream(WithColumn(
                    plain, "device_id", Dictionary(arrow::int32(), "[0, 1]", R"(["d1", null])")))))
                .find("column 'device_id': its dictionary holds nulls"),
            std::string::npos);

  // A null index in a required column.
  EXPECT_NE(decoding
                .Decode(Message(IpcStream(WithColumn(
                    plain, "device_id", Dictionary(arrow::int16(), "[0, null]", R"(["d1"])")))))
                .find("column 'device_id' is required but holds 1 nulls"),
            std::string::npos);

  // Only strings may come dictionary-encoded.
  auto numbers = arrow::DictionaryArray::FromArrays(
                     arrow::dictionary(arrow::int32(), arrow::int64()),
                     arrow::json::ArrayFromJSONString(arrow::int32(), "[0, 0]").ValueOrDie(),
                     arrow::json::ArrayFromJSONString(arrow::int64(), "[7]").ValueOrDie())
                     .ValueOrDie();
  EXPECT_NE(decoding.Decode(Message(IpcStream(WithColumn(plain, "sequence", numbers))))
                .find("column 'sequence' has type dictionary"),
            std::string::npos);

  EXPECT_EQ(decoding.dead_letters().size(), 4u);
  EXPECT_EQ(decoding.accumulator().num_rows(), 0);
}

TEST(ArrowDecoding, SchemaEvolutionAddsADictionaryEncodedColumnAsStrings) {
  auto schema = arrow::schema({arrow::field("channel", arrow::int32(), false)});
  Decoding decoding(schema, {MessageFormat::kArrow, /*schema_evolution=*/true});
  auto wider_schema =
      arrow::schema({arrow::field("channel", arrow::int32()), arrow::field("site", arrow::utf8())});
  auto wider = WithColumn(BatchFromJson(wider_schema, R"([[1, "a"], [2, "b"]])"), "site",
                          Dictionary(arrow::uint8(), "[0, 1]", R"(["a", "b"])"));
  EXPECT_EQ(decoding.Decode(Message(IpcStream(wider))), "");
  EXPECT_TRUE(decoding.accumulator().schema()->field(1)->type()->Equals(arrow::utf8()));
  auto batch = decoding.Flush();
  auto expected_schema = arrow::schema(
      {arrow::field("channel", arrow::int32(), false), arrow::field("site", arrow::utf8())});
  EXPECT_TRUE(batch->Equals(*BatchFromJson(expected_schema, R"([[1, "a"], [2, "b"]])")))
      << batch->ToString();
}

TEST(BatchAccumulator, RejectsUnsupportedColumnTypesUpFront) {
  auto made =
      BatchAccumulator::Make(arrow::schema({arrow::field("tags", arrow::list(arrow::utf8()))}));
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("column 'tags' has type list"), std::string::npos);
}

TEST(BatchAccumulator, KeepsArrivalOrderAcrossRowsBatchesAndNewColumns) {
  auto schema = arrow::schema({arrow::field("channel", arrow::int32(), false)});
  auto accumulator = BatchAccumulator::Make(schema).ValueOrDie();
  std::vector<CellValue> row = {int64_t{1}};
  ASSERT_TRUE(accumulator->AppendRow(row).ok());
  ASSERT_TRUE(accumulator->AppendBatch(BatchFromJson(schema, "[[2], [3]]")).ok());
  ASSERT_TRUE(accumulator->AddField(arrow::field("gain", arrow::float64(), false)).ok());
  std::vector<CellValue> wider = {int64_t{4}, 0.5};
  ASSERT_TRUE(accumulator->AppendRow(wider).ok());
  std::vector<CellValue> wrong = {std::string_view("x"), 0.5};
  EXPECT_FALSE(accumulator->AppendRow(wrong).ok());
  EXPECT_EQ(accumulator->num_rows(), 4);
  auto batch = accumulator->Flush().ValueOrDie();
  auto expected_schema = arrow::schema(
      {arrow::field("channel", arrow::int32(), false), arrow::field("gain", arrow::float64())});
  EXPECT_TRUE(
      batch->Equals(*BatchFromJson(expected_schema, "[[1, null], [2, null], [3, null], [4, 0.5]]")))
      << batch->ToString();
  EXPECT_EQ(accumulator->num_rows(), 0);
  EXPECT_EQ(accumulator->Flush().ValueOrDie()->num_rows(), 0);
}

TEST(DeadLetters, TableRows) {
  KafkaMessage message = Message(Bytes("\x01\x02 raw"), 9);
  std::vector<DeadLetter> letters = {MakeDeadLetter(message, "bad one")};
  message.key.reset();
  message.timestamp_ms.reset();
  letters.push_back(MakeDeadLetter(message, "bad two"));
  auto batch = DeadLettersToRecordBatch(letters, 1767225600000000).ValueOrDie();
  ASSERT_TRUE(batch->ValidateFull().ok());
  EXPECT_TRUE(batch->schema()->Equals(*DeadLetterSchema()));
  EXPECT_EQ(DeadLetterSchema()->ToString(),
            "topic: string not null\npartition: int32 not null\noffset: int64 not null\n"
            "message_timestamp: timestamp[us, tz=UTC]\nkey: binary\npayload: binary not null\n"
            "reason: string not null\ningested_at: timestamp[us, tz=UTC] not null");
  ASSERT_EQ(batch->num_rows(), 2);
  auto payloads = std::static_pointer_cast<arrow::BinaryArray>(batch->GetColumnByName("payload"));
  EXPECT_EQ(payloads->GetString(0), "\x01\x02 raw");
  EXPECT_EQ(batch->GetColumnByName("message_timestamp")->GetScalar(0).ValueOrDie()->ToString(),
            "2026-01-01 00:00:00.123000Z");
  EXPECT_TRUE(batch->GetColumnByName("message_timestamp")->IsNull(1));
  EXPECT_TRUE(batch->GetColumnByName("key")->IsNull(1));
  EXPECT_EQ(batch->GetColumnByName("reason")->GetScalar(1).ValueOrDie()->ToString(), "bad two");
}

TEST(Iso8601, ParsesAndRejects) {
  auto instant = ParseIso8601Timestamp("1969-12-31T23:59:59.9999999Z").ValueOrDie();
  EXPECT_EQ(instant.seconds, -1);
  EXPECT_EQ(instant.nanoseconds, 999999900);
  // Coarser units round toward negative infinity.
  EXPECT_EQ(*ToTimestampUnits(instant, arrow::TimeUnit::MICRO), -1);
  EXPECT_EQ(*ToTimestampUnits(instant, arrow::TimeUnit::SECOND), -1);
  EXPECT_EQ(*ToTimestampUnits(instant, arrow::TimeUnit::NANO), -100);
  EXPECT_EQ(*ParseIso8601Date("1970-01-01"), 0);
  EXPECT_EQ(*ParseIso8601Date("2024-02-29"), 19782);
  EXPECT_FALSE(ParseIso8601Timestamp("9999-12-31T23:59:59Z").ValueOrDie().seconds < 0);
  EXPECT_FALSE(ToTimestampUnits(*ParseIso8601Timestamp("9999-01-01"), arrow::TimeUnit::NANO).ok());
  for (const char* bad : {"", "2026", "2026-1-01", "2026-01-01T", "2026-01-01T10",
                          "2026-01-01T10:00:61", "2026-01-01T10:00:00.", "2026-01-01T10:00:00Zjunk",
                          "2026-01-01T10:00:00.1234567890", "2026-01-01T10:00+1", "2023-02-29"}) {
    EXPECT_FALSE(ParseIso8601Timestamp(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseIso8601Date("2026-01-01T00:00:00Z").ok());
}

// A one-column batch of strings laid out exactly as given: offsets and bytes taken as they are,
// so the batch may be invalid the way a hostile message's would be.
std::shared_ptr<arrow::RecordBatch> RawStrings(const std::vector<int32_t>& offsets,
                                               const std::string& bytes,
                                               std::shared_ptr<arrow::Buffer> validity = nullptr,
                                               int64_t null_count = 0) {
  auto offset_buffer = arrow::Buffer::FromString(
      std::string(reinterpret_cast<const char*>(offsets.data()), offsets.size() * 4));
  auto data = arrow::ArrayData::Make(
      arrow::utf8(), static_cast<int64_t>(offsets.size()) - 1,
      {std::move(validity), std::move(offset_buffer), arrow::Buffer::FromString(bytes)},
      null_count);
  return arrow::RecordBatch::Make(arrow::schema({arrow::field("s", arrow::utf8())}), data->length,
                                  {arrow::MakeArray(data)});
}

TEST(UntrustedBatches, StringChecksAgreeWithValidateFull) {
  const std::string e_acute = "\xc3\xa9";  // one two-byte character
  struct Case {
    std::vector<int32_t> offsets;
    std::string bytes;
    bool valid;
  };
  std::vector<Case> cases = {
      {{0, 1, 3}, "a" + e_acute, true},
      {{0, 2, 3}, "a" + e_acute, false},  // the character split between two values
      {{0, 1, 3}, "a\xff\xfe", false},
      {{0, 2, 1}, "abc", false},  // offsets decrease
      {{0, 1, 9}, "abc", false},  // past the end of the bytes
      {{1, 1, 1}, "x", true},
      {{0, 0, 0}, "", true},
  };
  for (const Case& c : cases) {
    auto batch = RawStrings(c.offsets, c.bytes);
    EXPECT_EQ(ValidateUntrustedBatch(*batch).ok(), c.valid) << c.bytes;
    EXPECT_EQ(batch->ValidateFull().ok(), c.valid) << c.bytes;
  }

  // Random offsets over random bytes mixing ASCII and the pieces of multi-byte characters.
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {
      "a", "z", e_acute, "\xe2\x82\xac", "\xf0\x9f\xa7\xa0", "\xc3", "\x82", "\xff"};
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes;
    int count = static_cast<int>(random() % 12);
    for (int i = 0; i < count; ++i) bytes += pieces[random() % (trial % 2 ? 5 : pieces.size())];
    int values = static_cast<int>(random() % 5) + 1;
    std::vector<int32_t> offsets(values + 1);
    for (auto& offset : offsets) offset = static_cast<int32_t>(random() % (bytes.size() + 1));
    if (trial % 3) std::sort(offsets.begin(), offsets.end());
    auto batch = RawStrings(offsets, bytes);
    bool expected = batch->ValidateFull().ok();
    EXPECT_EQ(ValidateUntrustedBatch(*batch).ok(), expected) << "trial " << trial;
    rejected += expected ? 0 : 1;
  }
  EXPECT_GT(rejected, 200);
  EXPECT_LT(rejected, 1800);
}

// Dictionary indices of every integer type, in and out of their dictionary's range, some with
// an invalid dictionary value: the bulk check must agree with ValidateFull.
TEST(UntrustedBatches, DictionaryChecksAgreeWithValidateFull) {
  const std::vector<std::shared_ptr<arrow::DataType>> index_types = {
      arrow::int8(),  arrow::uint8(),  arrow::int16(), arrow::uint16(),
      arrow::int32(), arrow::uint32(), arrow::int64(), arrow::uint64()};
  std::mt19937 random(11);
  int rejected = 0;
  for (int trial = 0; trial < 800; ++trial) {
    const auto& index_type = index_types[static_cast<size_t>(trial) % index_types.size()];
    const int size = static_cast<int>(random() % 4);  // 0 to 3 dictionary values
    std::string indices = "[";
    const int rows = static_cast<int>(random() % 6) + 1;
    for (int row = 0; row < rows; ++row) {
      // Mostly in range; sometimes negative (for signed types) or one past the end.
      int64_t index = static_cast<int64_t>(random() % (size + 1) + (size == 0 ? 0 : random() % 2)) -
                      (trial % 4 == 0 ? 1 : 0);
      if (index < 0 && !arrow::is_signed_integer(index_type->id())) index = 0;
      indices += (row ? ", " : "") + std::to_string(index);
    }
    indices += "]";
    std::vector<std::string> values = {R"("a")", R"("b")", R"("c")"};
    std::string dictionary = "[";
    for (int i = 0; i < size; ++i) dictionary += (i ? ", " : "") + values[static_cast<size_t>(i)];
    dictionary += "]";
    auto type = arrow::dictionary(index_type, arrow::utf8());
    auto column = std::make_shared<arrow::DictionaryArray>(
        type, arrow::json::ArrayFromJSONString(index_type, indices).ValueOrDie(),
        arrow::json::ArrayFromJSONString(arrow::utf8(), dictionary).ValueOrDie());
    auto batch = arrow::RecordBatch::Make(arrow::schema({arrow::field("s", type)}), rows, {column});
    bool expected = batch->ValidateFull().ok();
    EXPECT_EQ(ValidateUntrustedBatch(*batch).ok(), expected)
        << "trial " << trial << ": " << indices << " into " << dictionary;
    rejected += expected ? 0 : 1;
  }
  EXPECT_GT(rejected, 100);
  EXPECT_LT(rejected, 700);

  // A dictionary value that is not UTF-8 is caught too.
  auto bad_value = std::make_shared<arrow::DictionaryArray>(
      arrow::dictionary(arrow::int32(), arrow::utf8()),
      arrow::json::ArrayFromJSONString(arrow::int32(), "[0]").ValueOrDie(),
      RawStrings({0, 1}, "\xff")->column(0));
  auto batch = arrow::RecordBatch::Make(arrow::schema({arrow::field("s", bad_value->type())}), 1,
                                        {bad_value});
  EXPECT_FALSE(batch->ValidateFull().ok());
  EXPECT_FALSE(ValidateUntrustedBatch(*batch).ok());
}

TEST(UntrustedBatches, NullsAreLeftToValidateFull) {
  // A null count of 0 makes Arrow ignore the bitmap: every value is checked, as ValidateFull does.
  auto bitmap = arrow::Buffer::FromString(std::string(1, '\x01'));
  auto ignored_bitmap = RawStrings({0, 1, 2}, "a\xff", bitmap, 0);
  EXPECT_FALSE(ignored_bitmap->ValidateFull().ok());
  EXPECT_FALSE(ValidateUntrustedBatch(*ignored_bitmap).ok());
  // With a null, the bytes under it are ValidateFull's business, whatever they are.
  auto with_null = RawStrings({0, 1, 2}, "a\xff", bitmap, 1);
  EXPECT_EQ(ValidateUntrustedBatch(*with_null).ok(), with_null->ValidateFull().ok());
  auto bad_present = RawStrings({0, 1, 2},
                                "\xff"
                                "b",
                                bitmap, 1);
  EXPECT_FALSE(bad_present->ValidateFull().ok());
  EXPECT_FALSE(ValidateUntrustedBatch(*bad_present).ok());
}

TEST(ArrowDecoding, InvalidStringsInAMessageBecomeADeadLetter) {
  auto schema = arrow::schema({arrow::field("s", arrow::utf8())});
  Decoding decoding(schema, {MessageFormat::kArrow});
  auto split = RawStrings({0, 2, 3}, "a\xc3\xa9");
  EXPECT_NE(decoding.Decode(Message(IpcStream(split))).find("invalid Arrow record batch"),
            std::string::npos);
  EXPECT_EQ(decoding.accumulator().num_rows(), 0);
  EXPECT_EQ(decoding.Decode(Message(IpcStream(RawStrings({0, 1, 3}, "a\xc3\xa9")))), "");
  EXPECT_EQ(decoding.Flush()->num_rows(), 2);
}

}  // namespace
}  // namespace nlk::ingest
