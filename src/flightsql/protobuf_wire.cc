#include "flightsql/protobuf_wire.h"

#include <vector>

namespace nlk::flightsql {
namespace {

// A varint holds at most 64 bits in 10 bytes of 7 bits each.
constexpr int kMaxVarintBytes = 10;

arrow::Result<uint64_t> ReadVarint(std::string_view message, size_t* position,
                                   std::string_view message_name) {
  uint64_t value = 0;
  for (int index = 0; index < kMaxVarintBytes; ++index) {
    if (*position >= message.size()) {
      return arrow::Status::Invalid(message_name, ": truncated varint at byte ", *position);
    }
    auto byte = static_cast<uint8_t>(message[(*position)++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << (7 * index);
    if ((byte & 0x80) == 0) return value;
  }
  return arrow::Status::Invalid(message_name, ": varint longer than ", kMaxVarintBytes,
                                " bytes at byte ", *position);
}

arrow::Result<uint64_t> ReadFixed(std::string_view message, size_t* position, int width,
                                  std::string_view message_name) {
  if (message.size() - *position < static_cast<size_t>(width)) {
    return arrow::Status::Invalid(message_name, ": truncated ", width * 8, "-bit field at byte ",
                                  *position);
  }
  uint64_t value = 0;
  for (int index = 0; index < width; ++index) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(message[*position + index])) << (8 * index);
  }
  *position += static_cast<size_t>(width);
  return value;
}

}  // namespace

arrow::Status ReadFields(std::string_view message, std::string_view message_name,
                         const std::function<arrow::Status(const WireField&)>& on_field) {
  size_t position = 0;
  while (position < message.size()) {
    ARROW_ASSIGN_OR_RAISE(uint64_t tag, ReadVarint(message, &position, message_name));
    WireField field;
    uint64_t number = tag >> 3;
    if (number == 0 || number > (1u << 29) - 1) {
      return arrow::Status::Invalid(message_name, ": invalid field number ", number);
    }
    field.number = static_cast<int>(number);
    switch (tag & 7) {
      case 0: {
        field.type = WireType::kVarint;
        ARROW_ASSIGN_OR_RAISE(field.integer, ReadVarint(message, &position, message_name));
        break;
      }
      case 1: {
        field.type = WireType::kFixed64;
        ARROW_ASSIGN_OR_RAISE(field.integer, ReadFixed(message, &position, 8, message_name));
        break;
      }
      case 2: {
        field.type = WireType::kLengthDelimited;
        ARROW_ASSIGN_OR_RAISE(uint64_t length, ReadVarint(message, &position, message_name));
        if (length > message.size() - position) {
          return arrow::Status::Invalid(message_name, ": field ", number, " claims ", length,
                                        " bytes but ", message.size() - position, " remain");
        }
        field.bytes = message.substr(position, static_cast<size_t>(length));
        position += static_cast<size_t>(length);
        break;
      }
      case 5: {
        field.type = WireType::kFixed32;
        ARROW_ASSIGN_OR_RAISE(field.integer, ReadFixed(message, &position, 4, message_name));
        break;
      }
      default:
        return arrow::Status::Invalid(message_name, ": field ", number, " has wire type ", tag & 7,
                                      ", which protobuf 3 does not use");
    }
    ARROW_RETURN_NOT_OK(on_field(field));
  }
  return arrow::Status::OK();
}

arrow::Status AppendRepeatedVarints(const WireField& field, std::string_view message_name,
                                    std::vector<uint64_t>* out) {
  if (field.type == WireType::kVarint) {
    out->push_back(field.integer);
    return arrow::Status::OK();
  }
  if (field.type != WireType::kLengthDelimited) {
    return arrow::Status::Invalid(message_name, ": field ", field.number, " should hold integers");
  }
  size_t position = 0;
  while (position < field.bytes.size()) {
    ARROW_ASSIGN_OR_RAISE(uint64_t value, ReadVarint(field.bytes, &position, message_name));
    out->push_back(value);
  }
  return arrow::Status::OK();
}

void WireWriter::RawVarint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void WireWriter::Tag(int number, WireType type) {
  RawVarint((static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(type));
}

void WireWriter::Varint(int number, uint64_t value) {
  Tag(number, WireType::kVarint);
  RawVarint(value);
}

void WireWriter::Bytes(int number, std::string_view value) {
  Tag(number, WireType::kLengthDelimited);
  RawVarint(value.size());
  bytes_.append(value);
}

void WireWriter::PackedVarints(int number, const std::vector<uint64_t>& values) {
  WireWriter packed;
  for (uint64_t value : values) packed.RawVarint(value);
  Bytes(number, packed.bytes());
}

}  // namespace nlk::flightsql
