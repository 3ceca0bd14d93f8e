// The actions of the Delta log (PROTOCOL.md "Actions") described once: for each action its name
// in the log and whether checkpoints hold it; for each field its name (the JSON key in commits
// and the struct field in checkpoints), the member of the action struct of actions.h that holds
// it, whether it is required, and how it is encoded. The member's type gives the field's type:
//
//   std::string       JSON string                  checkpoint string
//   char              JSON string of one character checkpoint string (deletionVector.storageType)
//   int64_t, int32_t  JSON integer (range-checked) checkpoint int64, int32
//   bool              JSON boolean                 checkpoint boolean
//   vector<string>    JSON array of strings        checkpoint list<string>
//   StringMap         JSON object of strings       checkpoint map<string, string>
//   PartitionValues   the same, values may be null the same
//   Object<>          a nested object held in an optional member of its own struct type
//   Group<>           a nested object whose fields are members of the action itself
//
// and std::optional<T> of any of these is a field that may be absent (written only when set).
//
// The JSON codec (action_json.cc), the checkpoint reader (checkpoint_reader.cc) and the
// checkpoint writer (checkpoint_writer.cc, which also derives the checkpoint's Parquet schema
// from here) are all driven by these descriptions, so a new field is added here only.
//
// commitInfo is free-form and kept as raw JSON (see action_json.cc); it is not described here.
#pragma once

#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "delta/log/actions.h"

namespace nlk::delta::action_schema {

enum class Presence {
  // Identifies the action: required in commits and in checkpoints.
  kKey,
  // Required in commits. A checkpoint's null reads as the member's default (Parquet columns
  // are nullable, and some writers leave such columns null).
  kRequired,
  // May be absent: an optional member stays unset, any other keeps its default.
  kOptional,
};

enum Flags : unsigned {
  kNoFlags = 0,
  // A path: URI-encoded in the log, held decoded.
  kLogPath = 1u << 0,
  // Only in commits: checkpoints have no column for it (remove.stats, remove.tags).
  kCommitOnly = 1u << 1,
  // dataChange: a checkpoint re-states actions and changes no data, so it writes false and
  // reads a null as false.
  kFalseInCheckpoint = 1u << 2,
};

template <typename Owner, typename Member>
struct Field {
  using OwnerType = Owner;
  using MemberType = Member;
  std::string_view name;
  Member Owner::*member;
  Presence presence;
  unsigned flags;
};

template <typename Owner, typename Child, typename ChildFields>
struct Object {
  using OwnerType = Owner;
  using ChildType = Child;
  std::string_view name;
  std::optional<Child> Owner::*member;
  ChildFields fields;
};

template <typename Owner, typename GroupFields>
struct Group {
  using OwnerType = Owner;
  std::string_view name;
  GroupFields fields;
};

enum class InCheckpoint {
  kNo,         // commits only
  kRead,       // read from checkpoints (V2 checkpoints carry it); classic checkpoints lack it
  kReadWrite,  // read from and written to checkpoints
};

template <typename Action, typename ActionFields>
struct ActionDescription {
  using ActionType = Action;
  std::string_view name;
  InCheckpoint in_checkpoint;
  ActionFields fields;
};

template <typename Owner, typename Member>
constexpr Field<Owner, Member> F(std::string_view name, Member Owner::*member,
                                 Presence presence = Presence::kOptional,
                                 unsigned flags = kNoFlags) {
  return {name, member, presence, flags};
}

template <typename Owner, typename Child, typename ChildFields>
constexpr Object<Owner, Child, ChildFields> O(std::string_view name,
                                              std::optional<Child> Owner::*member,
                                              ChildFields fields) {
  return {name, member, fields};
}

template <typename Owner, typename GroupFields>
constexpr Group<Owner, GroupFields> G(std::string_view name, GroupFields fields) {
  return {name, fields};
}

template <typename Action, typename ActionFields>
constexpr ActionDescription<Action, ActionFields> A(std::string_view name, InCheckpoint in,
                                                    ActionFields fields) {
  return {name, in, fields};
}

using P = Presence;
using DV = DeletionVectorDescriptor;

inline constexpr auto kDeletionVector = std::make_tuple(  //
    F("storageType", &DV::storage_type, P::kRequired),
    F("pathOrInlineDv", &DV::path_or_inline_dv, P::kRequired), F("offset", &DV::offset),  //
    F("sizeInBytes", &DV::size_in_bytes, P::kRequired),                                   //
    F("cardinality", &DV::cardinality, P::kRequired));

inline constexpr auto kTxn =
    A<SetTransaction>("txn", InCheckpoint::kReadWrite,
                      std::make_tuple(F("appId", &SetTransaction::app_id, P::kKey),
                                      F("version", &SetTransaction::version, P::kRequired),
                                      F("lastUpdated", &SetTransaction::last_updated)));

inline constexpr auto kAdd = A<AddFile>(
    "add", InCheckpoint::kReadWrite,
    std::make_tuple(
        F("path", &AddFile::path, P::kKey, kLogPath),
        F("partitionValues", &AddFile::partition_values), F("size", &AddFile::size, P::kRequired),
        F("modificationTime", &AddFile::modification_time),
        F("dataChange", &AddFile::data_change, P::kOptional, kFalseInCheckpoint),
        F("stats", &AddFile::stats),  //
        F("tags", &AddFile::tags), O("deletionVector", &AddFile::deletion_vector, kDeletionVector),
        F("baseRowId", &AddFile::base_row_id),
        F("defaultRowCommitVersion", &AddFile::default_row_commit_version),
        F("clusteringProvider", &AddFile::clustering_provider)));

inline constexpr auto kRemove = A<RemoveFile>(
    "remove", InCheckpoint::kReadWrite,
    std::make_tuple(F("path", &RemoveFile::path, P::kKey, kLogPath),
                    F("deletionTimestamp", &RemoveFile::deletion_timestamp),
                    F("dataChange", &RemoveFile::data_change, P::kOptional, kFalseInCheckpoint),
                    F("extendedFileMetadata", &RemoveFile::extended_file_metadata),
                    F("partitionValues", &RemoveFile::partition_values),
                    F("size", &RemoveFile::size),
                    F("stats", &RemoveFile::stats, P::kOptional, kCommitOnly),
                    F("tags", &RemoveFile::tags, P::kOptional, kCommitOnly),
                    O("deletionVector", &RemoveFile::deletion_vector, kDeletionVector),
                    F("baseRowId", &RemoveFile::base_row_id),
                    F("defaultRowCommitVersion", &RemoveFile::default_row_commit_version)));

inline constexpr auto kMetadata = A<Metadata>(
    "metaData", InCheckpoint::kReadWrite,
    std::make_tuple(F("id", &Metadata::id, P::kKey),  //
                    F("name", &Metadata::name),       //
                    F("description", &Metadata::description),
                    G<Metadata>("format", std::make_tuple(F("provider", &Metadata::format_provider),
                                                          F("options", &Metadata::format_options))),
                    F("schemaString", &Metadata::schema_string, P::kKey),
                    F("partitionColumns", &Metadata::partition_columns),
                    F("configuration", &Metadata::configuration),
                    F("createdTime", &Metadata::created_time)));

inline constexpr auto kProtocol =
    A<Protocol>("protocol", InCheckpoint::kReadWrite,
                std::make_tuple(F("minReaderVersion", &Protocol::min_reader_version, P::kKey),
                                F("minWriterVersion", &Protocol::min_writer_version, P::kKey),
                                F("readerFeatures", &Protocol::reader_features),
                                F("writerFeatures", &Protocol::writer_features)));

inline constexpr auto kDomainMetadata =
    A<DomainMetadata>("domainMetadata", InCheckpoint::kReadWrite,
                      std::make_tuple(F("domain", &DomainMetadata::domain, P::kKey),
                                      F("configuration", &DomainMetadata::configuration),
                                      F("removed", &DomainMetadata::removed)));

inline constexpr auto kCdc = A<AddCdcFile>(
    "cdc", InCheckpoint::kNo,
    std::make_tuple(F("path", &AddCdcFile::path, P::kKey, kLogPath),
                    F("partitionValues", &AddCdcFile::partition_values),
                    F("size", &AddCdcFile::size),  //
                    F("dataChange", &AddCdcFile::data_change), F("tags", &AddCdcFile::tags)));

inline constexpr auto kCheckpointMetadata =
    A<CheckpointMetadata>("checkpointMetadata", InCheckpoint::kRead,
                          std::make_tuple(F("version", &CheckpointMetadata::version, P::kRequired),
                                          F("tags", &CheckpointMetadata::tags)));

inline constexpr auto kSidecar = A<Sidecar>(
    "sidecar", InCheckpoint::kRead,
    std::make_tuple(F("path", &Sidecar::path, P::kKey, kLogPath),
                    F("sizeInBytes", &Sidecar::size_in_bytes, P::kRequired),
                    F("modificationTime", &Sidecar::modification_time), F("tags", &Sidecar::tags)));

// Every described action; those written to checkpoints come first, in the column order Spark
// writes checkpoints in.
inline constexpr auto kActions =
    std::make_tuple(kTxn, kAdd, kRemove, kMetadata, kProtocol, kDomainMetadata, kCdc,
                    kCheckpointMetadata, kSidecar);

// Calls `f(element)` for each element of the tuple `elements`, in order.
template <typename Tuple, typename F>
constexpr void ForEach(const Tuple& elements, F&& f) {
  std::apply([&](const auto&... element) { (f(element), ...); }, elements);
}

// Calls `f(element)` for each element until one returns a non-OK status, and returns it.
template <typename Status, typename Tuple, typename F>
Status ForEachUntilError(const Tuple& elements, F&& f) {
  Status status;
  std::apply([&](const auto&... element) { ((status = f(element), status.ok()) && ...); },
             elements);
  return status;
}

// The description of action type `Action`.
template <typename Action>
constexpr const auto& DescriptionOf() {
  if constexpr (std::is_same_v<Action, SetTransaction>) return kTxn;
  if constexpr (std::is_same_v<Action, AddFile>) return kAdd;
  if constexpr (std::is_same_v<Action, RemoveFile>) return kRemove;
  if constexpr (std::is_same_v<Action, Metadata>) return kMetadata;
  if constexpr (std::is_same_v<Action, Protocol>) return kProtocol;
  if constexpr (std::is_same_v<Action, DomainMetadata>) return kDomainMetadata;
  if constexpr (std::is_same_v<Action, AddCdcFile>) return kCdc;
  if constexpr (std::is_same_v<Action, CheckpointMetadata>) return kCheckpointMetadata;
  if constexpr (std::is_same_v<Action, Sidecar>) return kSidecar;
}

// Type traits for the codecs.
template <typename T>
struct IsOptional : std::false_type {
  using ValueType = T;
};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {
  using ValueType = T;
};
// T, or the T of std::optional<T>.
template <typename T>
using ValueTypeOf = typename IsOptional<T>::ValueType;

template <typename T>
struct IsField : std::false_type {};
template <typename Owner, typename Member>
struct IsField<Field<Owner, Member>> : std::true_type {};
template <typename T>
struct IsObject : std::false_type {};
template <typename Owner, typename Child, typename ChildFields>
struct IsObject<Object<Owner, Child, ChildFields>> : std::true_type {};
template <typename T>
struct IsGroup : std::false_type {};
template <typename Owner, typename GroupFields>
struct IsGroup<Group<Owner, GroupFields>> : std::true_type {};

}  // namespace nlk::delta::action_schema
