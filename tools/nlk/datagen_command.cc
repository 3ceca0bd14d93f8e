#include "datagen_command.h"

#include <arrow/compute/cast.h>
#include <arrow/io/file.h>
#include <arrow/scalar.h>
#include <parquet/arrow/writer.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli_error.h"
#include "common/json_writer.h"
#include "datagen/live_simulator.h"
#include "datagen/neural_generator.h"
#include "delta/table.h"
#include "ingest/kafka_client.h"
#include "ingest/live_sink.h"
#include "ingest/producer.h"
#include "stop_signal.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct DatagenArguments {
  std::string kind = "samples";
  datagen::GeneratorOptions options;
  std::optional<double> burst_rate_hz;
  std::string start;
  std::string out;
  std::string table;
  std::vector<std::string> partition_by;
  std::string kafka;
  std::vector<std::string> kafka_properties;
  std::string topic;
  std::string format = "json";
  bool arrow_plain_strings = false;
  // --realtime: the live device simulator.
  bool realtime = false;
  bool duration_given = false;
  datagen::LiveOptions live;
  double message_ms = datagen::LiveOptions{}.message_seconds * 1000;
  std::string manifest;
  // Options that only mean something with --realtime, given on the command line.
  std::vector<std::string> realtime_options_given;
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

// A double as JSON: the shortest text that reads back as the same number.
std::string JsonNumber(double value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof text, value);
  return error == std::errc() ? std::string(text, end) : "null";
}

// What a live run sent, for whoever checks where it went (e.g. an end-to-end test).
std::string Manifest(const DatagenArguments& arguments, const datagen::LiveOptions& live,
                     const datagen::LiveSimulator& simulator, const ingest::KafkaLiveSink& sink,
                     const ingest::ProduceCounts& counts) {
  const datagen::LiveSummary& summary = simulator.summary();
  JsonWriter writer;
  writer.BeginObject();
  writer.Key("topic");
  writer.String(arguments.topic);
  writer.Key("format");
  writer.String(arguments.format);
  writer.Key("seed");
  writer.Raw(std::to_string(live.generator.seed));
  writer.Key("startTimeMicros");
  writer.Int(live.generator.start_time_us);
  writer.Key("devices");
  writer.Int(live.generator.devices);
  writer.Key("channels");
  writer.Int(live.generator.channels);
  writer.Key("rateHz");
  writer.Raw(JsonNumber(live.generator.sampling_rate_hz));
  writer.Key("stepsPerMessage");
  writer.Int(simulator.steps_per_interval());
  writer.Key("stopped");
  writer.Bool(summary.stopped);
  for (const auto& [key, value] :
       {std::pair{"intervals", summary.intervals},
        {"maxLagMs", static_cast<int64_t>(summary.max_lag.count() / 1000)},
        {"rows", summary.rows()},
        {"messages", summary.messages()},
        {"lateMessages", summary.late_messages()},
        {"dropouts", summary.dropouts()},
        {"malformedMessages", summary.malformed_messages()},
        {"kafkaMessages", counts.messages},
        {"kafkaBytes", counts.bytes}}) {
    writer.Key(key);
    writer.Int(value);
  }
  writer.Key("perDevice");
  writer.BeginArray();
  for (const datagen::DeviceSummary& device : summary.devices) {
    writer.BeginObject();
    writer.Key("deviceId");
    writer.String(device.device_id);
    for (const auto& [key, value] : {std::pair{"rows", device.rows},
                                     {"messages", device.messages},
                                     {"lateMessages", device.late_messages},
                                     {"dropouts", device.dropouts},
                                     {"droppedRows", device.dropped_rows},
                                     {"malformedMessages", device.malformed_messages}}) {
      writer.Key(key);
      writer.Int(value);
    }
    writer.Key("sequenceRanges");
    writer.BeginArray();
    for (const auto& [first, last] : device.sequence_ranges) {
      writer.BeginArray();
      writer.Int(first);
      writer.Int(last);
      writer.EndArray();
    }
    writer.EndArray();
    writer.EndObject();
  }
  writer.EndArray();
  writer.Key("malformed");
  writer.BeginArray();
  for (const ingest::MalformedRecord& record : sink.malformed()) {
    writer.BeginObject();
    writer.Key("deviceId");
    writer.String(record.device_id);
    writer.Key("sequence");
    writer.Int(record.sequence);
    writer.Key("kind");
    writer.String(datagen::MalformedKindName(record.kind));
    writer.Key("partition");
    writer.Int(record.position.partition);
    writer.Key("offset");
    writer.Int(record.position.offset);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return writer.Take();
}

arrow::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text << '\n';
  file.close();
  if (!file) return arrow::Status::IOError("cannot write the manifest ", path);
  return arrow::Status::OK();
}

arrow::Status RunRealtime(const DatagenArguments& arguments) {
  if (arguments.kafka.empty() || !arguments.out.empty() || !arguments.table.empty()) {
    return arrow::Status::Invalid(
        "--realtime produces to Kafka: give --kafka HOST:PORT and --topic T, and no --out or "
        "--table");
  }
  datagen::LiveOptions live = arguments.live;
  live.generator = arguments.options;
  ARROW_ASSIGN_OR_RAISE(live.generator.kind, datagen::ParseStreamKind(arguments.kind));
  live.generator.burst_rate_hz = arguments.burst_rate_hz.value_or(datagen::kDefaultLiveBurstRateHz);
  live.until_stopped = !arguments.duration_given;
  live.message_seconds = arguments.message_ms / 1000;
  if (!arguments.start.empty()) {
    ARROW_ASSIGN_OR_RAISE(live.generator.start_time_us, ParseUtcMicros(arguments.start));
  } else {
    // The samples carry the time they are sent at, as a device's clock would stamp them.
    live.generator.start_time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  }
  ARROW_ASSIGN_OR_RAISE(auto simulator, datagen::LiveSimulator::Make(live));

  ingest::ProducerOptions producer_options;
  producer_options.bootstrap_servers = arguments.kafka;
  producer_options.topic = arguments.topic;
  ARROW_ASSIGN_OR_RAISE(producer_options.format, ingest::ParseMessageFormat(arguments.format));
  producer_options.dictionary_strings = !arguments.arrow_plain_strings;
  ARROW_ASSIGN_OR_RAISE(producer_options.properties,
                        ingest::ParseKafkaProperties(arguments.kafka_properties));
  ARROW_ASSIGN_OR_RAISE(auto producer, ingest::KafkaProducer::Open(producer_options));
  ingest::KafkaLiveSink sink(*producer, producer_options);

  InstallStopHandlers();
  std::cerr << "nlk datagen: " << live.generator.devices << " devices x " << live.generator.channels
            << " channels at " << live.generator.sampling_rate_hz
            << " Hz, a message per device every " << simulator->steps_per_interval()
            << " samples, to " << arguments.topic << " at " << arguments.kafka << ", "
            << (live.until_stopped ? std::string("until SIGTERM or SIGINT")
                                   : "for " + JsonNumber(live.generator.duration_seconds) + " s")
            << std::endl;
  datagen::SteadyClock clock;
  arrow::Status run = simulator->Run(sink, clock, StopRequested);
  // Even after a failure, wait for what was queued, so what was sent is delivered.
  auto flushed = producer->Flush();
  ARROW_RETURN_NOT_OK(run);
  ARROW_RETURN_NOT_OK(flushed.status());

  const datagen::LiveSummary& summary = simulator->summary();
  std::cout << "produced " << summary.rows() << " samples in " << summary.messages()
            << " device messages (" << flushed->messages << " Kafka messages, " << flushed->bytes
            << " bytes) to " << arguments.topic << ": " << summary.late_messages() << " late, "
            << summary.dropouts() << " dropouts, " << summary.malformed_messages()
            << " malformed messages; "
            << (summary.stopped ? "stopped on signal " + std::to_string(StopSignal())
                                : std::string("ran its duration"))
            << ", at most " << summary.max_lag.count() / 1000 << " ms behind schedule" << std::endl;
  if (!arguments.manifest.empty()) {
    ARROW_RETURN_NOT_OK(
        WriteFile(arguments.manifest, Manifest(arguments, live, *simulator, sink, *flushed)));
  }
  return arrow::Status::OK();
}

arrow::Status Run(DatagenArguments arguments) {
  if (arguments.realtime) return RunRealtime(arguments);
  if (!arguments.realtime_options_given.empty()) {
    return arrow::Status::Invalid(arguments.realtime_options_given.front(),
                                  " only applies with --realtime");
  }
  if (arguments.burst_rate_hz) arguments.options.burst_rate_hz = *arguments.burst_rate_hz;
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
    ARROW_ASSIGN_OR_RAISE(producer.properties,
                          ingest::ParseKafkaProperties(arguments.kafka_properties));
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
  command->add_option("--kafka-property", arguments->kafka_properties,
                      "A librdkafka producer property NAME=VALUE for --kafka (repeatable), e.g. "
                      "security.protocol=SASL_SSL");
  command->add_option("--format", arguments->format, "Kafka message format: json or arrow")
      ->capture_default_str();
  command->add_flag("--arrow-plain-strings", arguments->arrow_plain_strings,
                    "Arrow messages: string columns as plain strings, not dictionary-encoded");
  command->add_option("--burst-rate", arguments->burst_rate_hz,
                      "Bursts per channel per second, each 50-300 ms of ten times the firing "
                      "(default 0, or " +
                          JsonNumber(datagen::kDefaultLiveBurstRateHz) + " with --realtime)");
  command->add_flag("--realtime", arguments->realtime,
                    "Simulate live devices: produce to --kafka as the samples are recorded, for "
                    "--duration or until SIGTERM/SIGINT, with late, missing and malformed "
                    "messages");
  const std::vector<CLI::Option*> realtime_options = {
      command
          ->add_option("--message-ms", arguments->message_ms,
                       "--realtime: the time each device message covers")
          ->capture_default_str(),
      command
          ->add_option("--late-fraction", arguments->live.late_fraction,
                       "--realtime: the share of messages sent late, after later ones")
          ->capture_default_str(),
      command
          ->add_option("--max-late-messages", arguments->live.max_late_intervals,
                       "--realtime: a late message is this many intervals late at most")
          ->capture_default_str(),
      command
          ->add_option("--dropout-fraction", arguments->live.dropout_fraction,
                       "--realtime: the chance per message that a device falls silent")
          ->capture_default_str(),
      command
          ->add_option("--max-dropout-messages", arguments->live.max_dropout_intervals,
                       "--realtime: a silence lasts this many messages at most")
          ->capture_default_str(),
      command
          ->add_option("--malformed-fraction", arguments->live.malformed_fraction,
                       "--realtime: the chance per message that a device also sends a broken one")
          ->capture_default_str(),
      command->add_option("--manifest", arguments->manifest,
                          "--realtime: write what was sent, as JSON, to this file at the end"),
  };
  CLI::Option* duration = command->get_option("--duration");
  command->callback([arguments, realtime_options, duration, &exit_code] {
    arguments->duration_given = duration->count() > 0;
    for (CLI::Option* option : realtime_options) {
      if (option->count() > 0) arguments->realtime_options_given.push_back(option->get_name());
    }
    arrow::Status status = Run(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
