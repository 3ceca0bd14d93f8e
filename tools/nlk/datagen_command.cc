#include "datagen_command.h"

#include <arrow/compute/cast.h>
#include <arrow/io/file.h>
#include <arrow/scalar.h>
#include <parquet/arrow/writer.h>

#include <memory>
#include <string>

#include "cli_error.h"
#include "datagen/neural_generator.h"
#include "delta/table.h"
#include "ingest/producer.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct DatagenArguments {
  std::string kind = "samples";
  datagen::GeneratorOptions options;
  std::string start;
  std::string out;
  std::string table;
  std::vector<std::string> partition_by;
  std::string kafka;
  std::string topic;
  std::string format = "json";
  bool arrow_plain_strings = false;
};

arrow::Result<int64_t> ParseUtcMicros(const std::string& text) {
  auto cast = arrow::compute::Cast(arrow::Datum(arrow::MakeScalar(text)),
                                   arrow::timestamp(arrow::TimeUnit::MICRO));
  if (!cast.ok()) {
    cast = arrow::compute::Cast(arrow::Datum(arrow::MakeScalar(text)),
                                arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  }
  if (!cast.ok()) {
    return arrow::Status::Invalid("--start '", text,
                                  "' is not a timestamp (use e.g. 2026-01-01T00:00:00Z)");
  }
  return static_cast<const arrow::TimestampScalar&>(*cast->scalar()).value;
}

arrow::Status WriteParquet(const std::string& path,
                           const std::shared_ptr<arrow::RecordBatchReader>& reader) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::FileOutputStream::Open(path));
  auto properties =
      parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
  ARROW_ASSIGN_OR_RAISE(
      auto writer, parquet::arrow::FileWriter::Open(*reader->schema(), arrow::default_memory_pool(),
                                                    file, properties));
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) break;
    ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
  }
  ARROW_RETURN_NOT_OK(writer->Close());
  return file->Close();
}

arrow::Status Run(DatagenArguments arguments) {
  if (arguments.out.empty() + arguments.table.empty() + arguments.kafka.empty() != 2) {
    return arrow::Status::Invalid(
        "datagen needs exactly one of --out FILE.parquet, --table URI or --kafka HOST:PORT");
  }
  ARROW_ASSIGN_OR_RAISE(arguments.options.kind, datagen::ParseStreamKind(arguments.kind));
  if (!arguments.start.empty()) {
    ARROW_ASSIGN_OR_RAISE(arguments.options.start_time_us, ParseUtcMicros(arguments.start));
  }
  ARROW_ASSIGN_OR_RAISE(auto reader, datagen::MakeNeuralReader(arguments.options));
  if (!arguments.out.empty()) return WriteParquet(arguments.out, reader);
  if (!arguments.kafka.empty()) {
    ingest::ProducerOptions producer;
    producer.bootstrap_servers = arguments.kafka;
    producer.topic = arguments.topic;
    ARROW_ASSIGN_OR_RAISE(producer.format, ingest::ParseMessageFormat(arguments.format));
    producer.dictionary_strings = !arguments.arrow_plain_strings;
    ARROW_ASSIGN_OR_RAISE(auto counts, ingest::ProduceToKafka(*reader, producer));
    std::cout << "produced " << counts.rows << " rows in " << counts.messages << " messages ("
              << counts.bytes << " bytes) to " << arguments.topic << std::endl;
    return arrow::Status::OK();
  }

  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(arguments.table));
  auto existing = delta::Table::Open(arguments.table);
  if (existing.ok()) {
    ARROW_ASSIGN_OR_RAISE(auto result, (*existing)->Append(reader));
    std::cout << "appended " << result.rows_written << " rows as version " << result.version
              << std::endl;
    return arrow::Status::OK();
  }
  delta::CreateOptions create;
  create.partition_columns = arguments.partition_by;
  create.name = std::string(datagen::StreamKindName(arguments.options.kind));
  ARROW_ASSIGN_OR_RAISE(auto table,
                        delta::Table::Create(arguments.table, reader->schema(), create, reader));
  std::cout << "created " << arguments.table << " at version 0" << std::endl;
  return arrow::Status::OK();
}

}  // namespace

void AddDatagenCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<DatagenArguments>();
  CLI::App* command = app.add_subcommand("datagen", "Generate synthetic neural data");
  command->add_option("--kind", arguments->kind, "samples, spikes or band_power")
      ->capture_default_str();
  command->add_option("--devices", arguments->options.devices, "Number of devices")
      ->capture_default_str();
  command->add_option("--channels", arguments->options.channels, "Channels per device")
      ->capture_default_str();
  command->add_option("--rate", arguments->options.sampling_rate_hz, "Sampling rate (Hz)")
      ->capture_default_str();
  command->add_option("--duration", arguments->options.duration_seconds, "Seconds of data")
      ->capture_default_str();
  command->add_option("--seed", arguments->options.seed, "Random seed")->capture_default_str();
  command->add_option("--start", arguments->start, "Start time (UTC), e.g. 2026-01-01T00:00:00Z");
  command->add_option("--session", arguments->options.session_id, "Session id")
      ->capture_default_str();
  command->add_option("--batch-rows", arguments->options.batch_rows, "Rows per batch")
      ->capture_default_str();
  command->add_option("--out", arguments->out, "Write a Parquet file");
  command->add_option("--table", arguments->table, "Append to (or create) a Delta table");
  command
      ->add_option("--partition-by", arguments->partition_by,
                   "Partition columns when creating a table")
      ->delimiter(',');
  command->add_option("--kafka", arguments->kafka, "Produce to Kafka (bootstrap HOST:PORT)");
  command->add_option("--topic", arguments->topic, "Kafka topic for --kafka");
  command->add_option("--format", arguments->format, "Kafka message format: json or arrow")
      ->capture_default_str();
  command->add_flag("--arrow-plain-strings", arguments->arrow_plain_strings,
                    "Arrow messages: string columns as plain strings, not dictionary-encoded");
  command->callback([arguments, &exit_code] {
    arrow::Status status = Run(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
