// The framing of PostgreSQL protocol 3 messages: reading the fields of a frontend message with
// bounds checks (a malformed message is an error, never a read past its end), and writing
// backend messages (a type byte, a length that counts itself, the fields).
//
// Pure functions over byte strings; thread-safe.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/pg_type.h"

namespace nlk::pgwire {

// Reads the fields of one message payload in order. Every read checks the bytes are there.
class MessageReader {
 public:
  // `what` names the message in errors ("Bind").
  MessageReader(std::string_view payload, std::string_view what) : payload_(payload), what_(what) {}

  arrow::Result<uint8_t> Byte();
  arrow::Result<int16_t> Int16();
  arrow::Result<int32_t> Int32();
  // A NUL-terminated string (without its NUL).
  arrow::Result<std::string_view> CString();
  arrow::Result<std::string_view> Bytes(int64_t count);
  // An error if bytes are left over.
  arrow::Status ExpectEnd() const;
  size_t remaining() const { return payload_.size() - position_; }

 private:
  arrow::Status Malformed(std::string_view reason) const;

  std::string_view payload_;
  std::string_view what_;
  size_t position_ = 0;
};

// Starts a backend message of `type` in `out`; returns where it starts, for FinishMessage.
size_t BeginMessage(char type, std::string* out);
// Writes the length of the message started at `start` (everything appended since).
void FinishMessage(size_t start, std::string* out);
void AppendCString(std::string_view text, std::string* out);

// The fields of an ErrorResponse or NoticeResponse.
struct ErrorFields {
  std::string severity = "ERROR";  // ERROR, FATAL, NOTICE, ...
  std::string code;                // SQLSTATE, five characters
  std::string message;
  std::string detail;
  std::string hint;
  int position = 0;  // 1-based character position in the query; 0: none
};

void AppendErrorResponse(const ErrorFields& error, std::string* out);
void AppendNoticeResponse(const ErrorFields& notice, std::string* out);
void AppendReadyForQuery(char transaction_status, std::string* out);
void AppendCommandComplete(std::string_view tag, std::string* out);
void AppendParameterStatus(std::string_view name, std::string_view value, std::string* out);
void AppendEmptyMessage(char type, std::string* out);

// One column of a RowDescription.
struct ResultColumn {
  std::string name;
  PgColumnType type;
};

// `binary[i]`: column i is sent in binary format.
void AppendRowDescription(const std::vector<ResultColumn>& columns, const std::vector<bool>& binary,
                          std::string* out);

// The per-column formats of a Bind's result format codes: none (all text), one (for all), or
// one per column. Codes other than 0 and 1, or a count that fits neither rule, are errors.
arrow::Result<std::vector<bool>> ResultFormats(const std::vector<int16_t>& codes, size_t columns);

}  // namespace nlk::pgwire
