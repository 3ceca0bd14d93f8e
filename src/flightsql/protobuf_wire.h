// The protocol buffers wire format, for the few Flight SQL messages `nlk serve` reads and writes
// (flight_sql_messages.h). Arrow's Flight library keeps its protobuf runtime to itself, and a
// second protobuf runtime in the same process risks clashing with it, so the messages are coded
// here by hand: varints, length-delimited fields, and skipping of fields we do not know (a newer
// client may send them).
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace nlk::flightsql {

enum class WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct WireField {
  int number = 0;
  WireType type = WireType::kVarint;
  uint64_t integer = 0;    // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLengthDelimited; points into the message
};

// Calls `on_field` for each field of `message`, in order. Truncated or malformed input (an
// overlong varint, a length past the end, a group or reserved wire type, field number 0) is
// Invalid naming `message_name`.
arrow::Status ReadFields(std::string_view message, std::string_view message_name,
                         const std::function<arrow::Status(const WireField&)>& on_field);

// The unsigned integers of a repeated scalar field, packed (one length-delimited field) or not
// (one varint per field), appended to `out`: proto3 writers pack, older ones may not.
arrow::Status AppendRepeatedVarints(const WireField& field, std::string_view message_name,
                                    std::vector<uint64_t>* out);

// Appends fields to a message under construction.
class WireWriter {
 public:
  void Varint(int number, uint64_t value);
  void Bytes(int number, std::string_view value);
  // proto3 packed encoding of a repeated varint field.
  void PackedVarints(int number, const std::vector<uint64_t>& values);

  const std::string& bytes() const { return bytes_; }
  std::string Release() { return std::move(bytes_); }

 private:
  void Tag(int number, WireType type);
  void RawVarint(uint64_t value);

  std::string bytes_;
};

}  // namespace nlk::flightsql
