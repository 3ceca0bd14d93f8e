// In-process timings of the Delta engine for bench/delta_bench.py, which runs delta-rs on the
// same tables in the same run. Each command prints one JSON object on stdout.
//
//   nlk_bench make-log URI --commits N --files-per-commit K
//       fabricates a table whose log has N commits of K add actions each (with stats; the data
//       files do not exist: snapshot loading never opens them); checkpoints every 10 commits
//   nlk_bench snapshot-load URI --repeat R [--version V]
//   nlk_bench snapshot-update URI --from V --repeat R
//   nlk_bench baseline URI          (peak RSS of the process without loading a snapshot)
//   nlk_bench scan URI --filter PREDICATE --repeat R
//   nlk_bench write URI --input FILE.parquet [--partition-by COLUMN]
//   nlk_bench kafka-read --bootstrap HOST:PORT --topic T [--partition P ...]
//                        [--kafka-property NAME=VALUE ...]
//       reads every partition of T (or the ones named) from its first offset to its end with
//       librdkafka, outside any group and without looking at the payloads, with the prefetch
//       `nlk ingest` uses by default: how long merely fetching the topic takes, the floor under
//       any ingester that uses this client on this machine. "arrivals" lists [unix time,
//       messages read so far] every 64 messages, so that concurrent readers' progress can be
//       added up. Two costs that are not fetching are kept out: glibc giving each fetched
//       buffer fresh pages, which the kernel zeroes (buffers above its mmap threshold are
//       mapped and unmapped one by one; here freed memory is reused, as it is in a writer that
//       keeps its buffers), and a fetch that waits on the broker for the partitions already at
//       their end while the others' data waits behind it (fetch.wait.max.ms, 500 ms by default)
#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/arrow_runtime.h"
#include "delta/data/scan.h"
#include "delta/data/schema.h"
#include "delta/log/delta_log.h"
#include "delta/log/transaction.h"
#include "delta/predicate.h"
#include "delta/table.h"
#include "input_files.h"

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Peak resident memory of this process, from /proc (kB).
int64_t PeakRssKilobytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

std::string TimingsJson(const std::vector<double>& timings) {
  std::string json = "[";
  for (size_t i = 0; i < timings.size(); ++i) {
    json += (i ? "," : "") + std::to_string(timings[i]);
  }
  return json + "]";
}

void PrintResult(const std::string& fields) {
  std::cout << "{" << fields << ",\"peak_rss_kb\":" << PeakRssKilobytes() << "}" << std::endl;
}

std::string IsoSeconds(int64_t seconds) {
  std::time_t time = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buffer[40];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S.000Z", &utc);
  return buffer;
}

constexpr char kSchema[] =
    R"({"type":"struct","fields":[)"
    R"({"name":"device_id","type":"string","nullable":false,"metadata":{}},)"
    R"({"name":"channel","type":"integer","nullable":false,"metadata":{}},)"
    R"({"name":"timestamp","type":"timestamp","nullable":false,"metadata":{}},)"
    R"({"name":"voltage_uv","type":"float","nullable":false,"metadata":{}}]})";

arrow::Status MakeLog(const std::string& uri, int64_t commits, int64_t files_per_commit) {
  ARROW_ASSIGN_OR_RAISE(auto store, nlk::storage::OpenObjectStore(uri));
  ARROW_ASSIGN_OR_RAISE(auto log, nlk::delta::DeltaLog::Open(store));
  std::shared_ptr<const nlk::delta::Snapshot> snapshot;
  auto start = Clock::now();
  for (int64_t commit = 0; commit < commits; ++commit) {
    auto transaction = log->StartTransaction(snapshot);
    if (!snapshot) {
      nlk::delta::Metadata metadata;
      metadata.id = "00000000-0000-4000-8000-000000000001";
      metadata.schema_string = kSchema;
      transaction->UpdateProtocol(nlk::delta::Protocol{});
      transaction->UpdateMetadata(metadata);
    }
    for (int64_t file = 0; file < files_per_commit; ++file) {
      int64_t index = commit * files_per_commit + file;
      nlk::delta::AddFile add;
      add.path = "part-" + std::to_string(index) + "-c000.snappy.parquet";
      add.size = 8 * 1024 * 1024;
      add.modification_time = 1767225600000 + index;
      std::string first = IsoSeconds(1767225600 + index);
      std::string last = IsoSeconds(1767225600 + index + 1);
      add.stats = R"({"numRecords":50000,"minValues":{"device_id":"device-001","channel":0,)"
                  R"("timestamp":")" +
                  first +
                  R"(","voltage_uv":-180.5},"maxValues":{"device_id":"device-016","channel":63,)"
                  R"("timestamp":")" +
                  last +
                  R"(","voltage_uv":175.25},"nullCount":{"device_id":0,"channel":0,)"
                  R"("timestamp":0,"voltage_uv":0}})";
      transaction->AddFile(std::move(add));
    }
    transaction->SetOperation("WRITE", {{"mode", "Append"}});
    ARROW_ASSIGN_OR_RAISE(auto committed, transaction->Commit());
    ARROW_RETURN_NOT_OK(committed.post_commit_status);
    ARROW_ASSIGN_OR_RAISE(snapshot, snapshot ? log->Update(snapshot) : log->Latest());
  }
  PrintResult("\"commits\":" + std::to_string(commits) +
              ",\"files\":" + std::to_string(snapshot->files().size()) +
              ",\"seconds\":" + std::to_string(MillisSince(start) / 1000));
  return arrow::Status::OK();
}

arrow::Status SnapshotLoad(const std::string& uri, int repeat, std::optional<int64_t> version) {
  std::vector<double> timings;
  size_t files = 0;
  for (int i = 0; i < repeat; ++i) {
    auto start = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto store, nlk::storage::OpenObjectStore(uri));
    ARROW_ASSIGN_OR_RAISE(auto log, nlk::delta::DeltaLog::Open(store));
    ARROW_ASSIGN_OR_RAISE(auto snapshot, version ? log->AtVersion(*version) : log->Latest());
    timings.push_back(MillisSince(start));
    files = snapshot->files().size();
  }
  PrintResult("\"median_ms\":" + std::to_string(Median(timings)) +
              ",\"timings_ms\":" + TimingsJson(timings) + ",\"files\":" + std::to_string(files));
  return arrow::Status::OK();
}

arrow::Status SnapshotUpdate(const std::string& uri, int repeat, int64_t from) {
  std::vector<double> timings;
  int64_t version = 0;
  for (int i = 0; i < repeat; ++i) {
    ARROW_ASSIGN_OR_RAISE(auto store, nlk::storage::OpenObjectStore(uri));
    ARROW_ASSIGN_OR_RAISE(auto log, nlk::delta::DeltaLog::Open(store));
    ARROW_ASSIGN_OR_RAISE(auto old_snapshot, log->AtVersion(from));
    auto start = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto snapshot, log->Update(old_snapshot));
    timings.push_back(MillisSince(start));
    version = snapshot->version();
  }
  PrintResult("\"median_ms\":" + std::to_string(Median(timings)) + ",\"timings_ms\":" +
              TimingsJson(timings) + ",\"version\":" + std::to_string(version));
  return arrow::Status::OK();
}

arrow::Status Scan(const std::string& uri, const std::string& filter, int repeat) {
  std::vector<double> timings;
  int64_t rows = 0;
  nlk::delta::data::ScanMetrics metrics;
  for (int i = 0; i < repeat; ++i) {
    auto start = Clock::now();
    ARROW_ASSIGN_OR_RAISE(auto store, nlk::storage::OpenObjectStore(uri));
    ARROW_ASSIGN_OR_RAISE(auto log, nlk::delta::DeltaLog::Open(store));
    ARROW_ASSIGN_OR_RAISE(auto snapshot, log->Latest());
    ARROW_ASSIGN_OR_RAISE(auto schema,
                          nlk::delta::data::ParseDeltaSchema(snapshot->metadata().schema_string));
    ARROW_ASSIGN_OR_RAISE(auto predicate, nlk::delta::ParsePredicate(filter, *schema));
    nlk::delta::data::ScanBuilder builder(store, snapshot->metadata(), snapshot->files());
    builder.Filter(predicate);
    ARROW_ASSIGN_OR_RAISE(auto scan, builder.Build());
    ARROW_ASSIGN_OR_RAISE(auto table, scan->ToTable());
    timings.push_back(MillisSince(start));
    rows = table->num_rows();
    metrics = scan->metrics();
  }
  PrintResult("\"median_ms\":" + std::to_string(Median(timings)) +
              ",\"timings_ms\":" + TimingsJson(timings) + ",\"rows\":" + std::to_string(rows) +
              ",\"files_total\":" + std::to_string(metrics.files_total) +
              ",\"files_read\":" + std::to_string(metrics.files_read) +
              ",\"row_groups_pruned\":" + std::to_string(metrics.row_groups_pruned));
  return arrow::Status::OK();
}

arrow::Status Write(const std::string& uri, const std::string& input,
                    const std::vector<std::string>& partition_by) {
  auto start = Clock::now();
  ARROW_ASSIGN_OR_RAISE(auto reader, nlk::cli::OpenParquetInputs({input}));
  nlk::delta::CreateOptions options;
  options.partition_columns = partition_by;
  ARROW_ASSIGN_OR_RAISE(auto table,
                        nlk::delta::Table::Create(uri, reader->schema(), options, reader));
  PrintResult("\"seconds\":" + std::to_string(MillisSince(start) / 1000));
  return arrow::Status::OK();
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

arrow::Status KafkaRead(const std::string& bootstrap, const std::string& topic,
                        const std::vector<int>& only_partitions,
                        const std::vector<std::string>& properties) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", bootstrap},
      {"group.id", "nlk-bench-kafka-read"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      // What `nlk ingest` derives from its default --max-bytes (128 MiB).
      {"queued.max.messages.kbytes", "65536"},
      {"fetch.max.bytes", "33554432"},
      {"fetch.wait.max.ms", "10"}};
  for (const auto& property : properties) {
    auto equals = property.find('=');
    if (equals == std::string::npos) return arrow::Status::Invalid("not NAME=VALUE: ", property);
    settings.emplace_back(property.substr(0, equals), property.substr(equals + 1));
  }
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return arrow::Status::Invalid(name, ": ", error);
    }
  }
  // Freed fetch buffers are reused rather than returned to the kernel (see the top).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  auto start = Clock::now();
  double cpu_start = CpuSeconds();
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return arrow::Status::IOError("rd_kafka_new: ", error);
  }
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> owner(handle, rd_kafka_destroy);
  rd_kafka_poll_set_consumer(handle);
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(handle, topic.c_str(), nullptr);
  rd_kafka_resp_err_t status = rd_kafka_metadata(handle, 0, topic_handle, &metadata, 10000);
  rd_kafka_topic_destroy(topic_handle);
  if (status != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return arrow::Status::IOError("metadata: ", rd_kafka_err2str(status));
  }
  int partitions = 0;
  if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions = metadata->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  if (partitions == 0) return arrow::Status::Invalid("topic ", topic, " has no partitions");
  std::vector<int> chosen = only_partitions;
  if (chosen.empty()) {
    for (int p = 0; p < partitions; ++p) chosen.push_back(p);
  }
  for (int p : chosen) {
    if (p < 0 || p >= partitions) {
      return arrow::Status::Invalid("topic ", topic, " has no partition ", p);
    }
  }
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(chosen.size()));
  for (int p : chosen) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  partitions = static_cast<int>(chosen.size());
  status = rd_kafka_assign(handle, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (status != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return arrow::Status::IOError("assign: ", rd_kafka_err2str(status));
  }
  int64_t messages = 0, bytes = 0;
  int at_end = 0;
  std::string arrivals;
  auto note_arrival = [&] {
    double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    arrivals += (arrivals.empty() ? "[" : ",[") + std::to_string(now) + "," +
                std::to_string(messages) + "]";
  };
  while (at_end < partitions) {
    if (MillisSince(start) > 600'000) return arrow::Status::IOError("reading took over 600 s");
    rd_kafka_message_t* message = rd_kafka_consumer_poll(handle, 1000);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
    } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string text = rd_kafka_message_errstr(message);
      rd_kafka_message_destroy(message);
      return arrow::Status::IOError("consume: ", text);
    } else {
      ++messages;
      bytes += static_cast<int64_t>(message->len);
      if (messages % 64 == 0) note_arrival();
    }
    rd_kafka_message_destroy(message);
  }
  double seconds = MillisSince(start) / 1000;
  double cpu = CpuSeconds() - cpu_start;
  note_arrival();
  rd_kafka_consumer_close(handle);
  PrintResult("\"seconds\":" + std::to_string(seconds) + ",\"cpu_seconds\":" + std::to_string(cpu) +
              ",\"messages\":" + std::to_string(messages) + ",\"bytes\":" + std::to_string(bytes) +
              ",\"librdkafka\":\"" + rd_kafka_version_str() + "\",\"arrivals\":[" + arrivals + "]");
  return arrow::Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Neuralake engine micro-benchmarks"};
  app.require_subcommand(1);
  std::string uri, filter, input;
  int64_t commits = 0, files_per_commit = 1, from = 0;
  int repeat = 5;
  std::optional<int64_t> version;
  std::vector<std::string> partition_by;
  arrow::Status status;
  if (!nlk::InitializeArrowCompute().ok()) return 1;

  auto make_log = app.add_subcommand("make-log");
  make_log->add_option("uri", uri)->required();
  make_log->add_option("--commits", commits)->required();
  make_log->add_option("--files-per-commit", files_per_commit);
  make_log->callback([&] { status = MakeLog(uri, commits, files_per_commit); });

  auto load = app.add_subcommand("snapshot-load");
  load->add_option("uri", uri)->required();
  load->add_option("--repeat", repeat);
  load->add_option("--version", version);
  load->callback([&] { status = SnapshotLoad(uri, repeat, version); });

  // The process's own footprint (libraries, allocator) without a snapshot, to subtract.
  auto baseline = app.add_subcommand("baseline");
  baseline->add_option("uri", uri)->required();
  baseline->callback([&] {
    auto opened = nlk::storage::OpenObjectStore(uri);
    status = opened.ok() ? nlk::delta::DeltaLog::Open(*opened).status() : opened.status();
    if (status.ok()) PrintResult("\"baseline\":true");
  });

  auto update = app.add_subcommand("snapshot-update");
  update->add_option("uri", uri)->required();
  update->add_option("--from", from)->required();
  update->add_option("--repeat", repeat);
  update->callback([&] { status = SnapshotUpdate(uri, repeat, from); });

  auto scan = app.add_subcommand("scan");
  scan->add_option("uri", uri)->required();
  scan->add_option("--filter", filter)->required();
  scan->add_option("--repeat", repeat);
  scan->callback([&] { status = Scan(uri, filter, repeat); });

  auto write = app.add_subcommand("write");
  write->add_option("uri", uri)->required();
  write->add_option("--input", input)->required();
  write->add_option("--partition-by", partition_by)->delimiter(',');
  write->callback([&] { status = Write(uri, input, partition_by); });

  std::string bootstrap, topic;
  std::vector<std::string> kafka_properties;
  std::vector<int> kafka_partitions;
  auto kafka_read = app.add_subcommand("kafka-read");
  kafka_read->add_option("--bootstrap", bootstrap)->required();
  kafka_read->add_option("--topic", topic)->required();
  kafka_read->add_option("--partition", kafka_partitions);
  kafka_read->add_option("--kafka-property", kafka_properties);
  kafka_read->callback(
      [&] { status = KafkaRead(bootstrap, topic, kafka_partitions, kafka_properties); });

  CLI11_PARSE(app, argc, argv);
  if (!status.ok()) {
    std::cerr << "nlk_bench: " << status.ToString() << std::endl;
    return 1;
  }
  return 0;
}
