#include "ingest_command.h"

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_error.h"
#include "common/arrow_runtime.h"
#include "datagen/neural_generator.h"
#include "ingest/ingest_metrics.h"
#include "ingest/kafka_client.h"
#include "ingest/stream_writer.h"
#include "metrics_endpoint.h"
#include "writer_rule.h"

namespace nlk::cli {
namespace {

struct IngestArguments {
  std::string table;
  std::string bootstrap;
  std::vector<std::string> topics;
  std::string group = "nlk-ingest";
  std::string format = "json";
  int64_t max_rows = ingest::FlushLimits{}.max_rows;
  int64_t max_bytes = ingest::FlushLimits{}.max_bytes;
  int64_t max_latency_ms = ingest::FlushLimits{}.max_latency.count();
  size_t flushes_in_flight = ingest::StreamWriterOptions{}.max_flushes_in_flight;
  std::string dead_letter_table;
  std::vector<std::string> partition_by;
  std::string schema_from_datagen;
  bool schema_evolution = false;
  std::string metrics_address;
  double exit_when_idle_seconds = 0;
  std::vector<std::string> kafka_properties;
};

// The one piece of process-wide state: a signal handler can only reach a static, and an atomic
// flag is all it may touch.
std::atomic<bool> stop_requested{false};

void RequestStop(int /*signal*/) {
  stop_requested.store(true);
  // A second signal ends the process at once, for a user who does not want to wait for the
  // final flush.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
}

arrow::Result<ingest::StreamWriterOptions> WriterOptions(const IngestArguments& arguments) {
  ingest::StreamWriterOptions options;
  options.table_uri = arguments.table;
  options.dead_letter_table_uri = arguments.dead_letter_table;
  options.consumer.bootstrap_servers = arguments.bootstrap;
  options.consumer.group_id = arguments.group;
  options.consumer.topics = arguments.topics;
  ARROW_ASSIGN_OR_RAISE(options.consumer.properties,
                        ingest::ParseKafkaProperties(arguments.kafka_properties));
  ARROW_ASSIGN_OR_RAISE(options.decoder.format, ingest::ParseMessageFormat(arguments.format));
  options.decoder.schema_evolution = arguments.schema_evolution;
  options.flush_limits.max_rows = arguments.max_rows;
  options.flush_limits.max_bytes = arguments.max_bytes;
  options.flush_limits.max_latency = std::chrono::milliseconds(arguments.max_latency_ms);
  if (arguments.flushes_in_flight < 1) {
    return arrow::Status::Invalid("--flushes-in-flight must be at least 1");
  }
  options.max_flushes_in_flight = arguments.flushes_in_flight;
  if (!arguments.schema_from_datagen.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto kind, datagen::ParseStreamKind(arguments.schema_from_datagen));
    options.create_schema = datagen::SchemaFor(kind);
    options.create_options.name = std::string(datagen::StreamKindName(kind));
  }
  options.create_options.partition_columns = arguments.partition_by;
  if (arguments.exit_when_idle_seconds < 0) {
    return arrow::Status::Invalid("--exit-when-idle must not be negative");
  }
  options.exit_when_idle =
      std::chrono::milliseconds(static_cast<int64_t>(arguments.exit_when_idle_seconds * 1000));
  return options;
}

arrow::Status Run(const IngestArguments& arguments) {
  ARROW_ASSIGN_OR_RAISE(auto options, WriterOptions(arguments));
  ARROW_RETURN_NOT_OK(CheckNlkMayWrite(options.table_uri));
  if (!options.dead_letter_table_uri.empty()) {
    ARROW_RETURN_NOT_OK(CheckNlkMayWrite(options.dead_letter_table_uri));
  }
  ingest::IngestMetrics metrics;
  std::unique_ptr<MetricsEndpoint> endpoint;
  if (!arguments.metrics_address.empty()) {
    ARROW_ASSIGN_OR_RAISE(endpoint, MetricsEndpoint::Start(arguments.metrics_address, [&metrics] {
                            return metrics.RenderPrometheus();
                          }));
  }
  std::signal(SIGTERM, RequestStop);
  std::signal(SIGINT, RequestStop);
  ARROW_ASSIGN_OR_RAISE(auto writer, ingest::StreamWriter::Open(options, &metrics));
  std::cerr << "nlk ingest: " << options.consumer.topics.front()
            << (options.consumer.topics.size() > 1 ? ",..." : "") << " -> " << options.table_uri
            << " (group " << options.consumer.group_id << ")"
            << (endpoint ? ", metrics on port " + std::to_string(endpoint->port()) : "")
            << ", memory pool " << nlk::DefaultMemoryPoolName() << std::endl;
  arrow::Status status = writer->Run(stop_requested);
  const ingest::StreamWriterTotals& totals = writer->totals();
  std::cout << "ingested " << totals.rows << " rows in " << totals.commits << " commits ("
            << totals.dead_letters << " dead letters, " << totals.conflicts << " commit conflicts)"
            << std::endl;
  return status;
}

}  // namespace

void AddIngestCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<IngestArguments>();
  CLI::App* command = app.add_subcommand(
      "ingest", "Consume Kafka into a Delta table, exactly once, until SIGTERM/SIGINT");
  command->add_option("table", arguments->table, "Table URI (local path or s3://...)")->required();
  command->add_option("--bootstrap", arguments->bootstrap, "Kafka bootstrap servers HOST:PORT")
      ->required();
  command->add_option("--topic", arguments->topics, "Topic(s) to consume")
      ->required()
      ->delimiter(',');
  command->add_option("--group", arguments->group, "Consumer group")->capture_default_str();
  command->add_option("--format", arguments->format, "Message format: json or arrow")
      ->capture_default_str();
  command->add_option("--max-rows", arguments->max_rows, "Flush at this many buffered rows")
      ->capture_default_str();
  command
      ->add_option("--max-bytes", arguments->max_bytes,
                   "Flush at this many buffered bytes; also sizes Kafka's prefetch (half of it, "
                   "16-64 MiB) unless --kafka-property sets queued.max.messages.kbytes or "
                   "fetch.max.bytes")
      ->capture_default_str();
  command
      ->add_option("--flushes-in-flight", arguments->flushes_in_flight,
                   "Flushes being written while consumption goes on; each holds one buffer")
      ->capture_default_str();
  command
      ->add_option("--max-latency-ms", arguments->max_latency_ms,
                   "Flush when the oldest buffered message is this old")
      ->capture_default_str();
  command->add_option("--dead-letter-table", arguments->dead_letter_table,
                      "Dead-letter table URI (default: TABLE_dead_letters)");
  command
      ->add_option("--partition-by", arguments->partition_by,
                   "Partition columns when the table is created, e.g. date")
      ->delimiter(',');
  command->add_option("--schema-from-datagen", arguments->schema_from_datagen,
                      "Create a missing table with the schema of samples, spikes or band_power");
  command->add_flag("--schema-evolution", arguments->schema_evolution,
                    "Add columns for new fields instead of dead-lettering their messages");
  command->add_option("--metrics-address", arguments->metrics_address,
                      "Serve Prometheus /metrics on HOST:PORT, e.g. 127.0.0.1:9464");
  command->add_option(
      "--exit-when-idle", arguments->exit_when_idle_seconds,
      "Flush and exit after this many seconds with partitions assigned but no messages");
  command->add_option("--kafka-property", arguments->kafka_properties,
                      "Extra librdkafka consumer property NAME=VALUE (repeatable)");
  command->callback([arguments, &exit_code] {
    arrow::Status status = Run(*arguments);
    if (!status.ok()) exit_code = ReportError(status);
  });
}

}  // namespace nlk::cli
