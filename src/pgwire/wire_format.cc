#include "pgwire/wire_format.h"

#include <cstring>

#include "pgwire/sql_state.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {

arrow::Status MessageReader::Malformed(std::string_view reason) const {
  return SqlStateError(sqlstate::kProtocolViolation,
                       "malformed " + std::string(what_) + " message: " + std::string(reason));
}

arrow::Result<uint8_t> MessageReader::Byte() {
  if (remaining() < 1) return Malformed("it ends early");
  return static_cast<uint8_t>(payload_[position_++]);
}

arrow::Result<int16_t> MessageReader::Int16() {
  if (remaining() < 2) return Malformed("it ends early");
  int16_t value = ReadInt16(payload_.substr(position_));
  position_ += 2;
  return value;
}

arrow::Result<int32_t> MessageReader::Int32() {
  if (remaining() < 4) return Malformed("it ends early");
  int32_t value = ReadInt32(payload_.substr(position_));
  position_ += 4;
  return value;
}

arrow::Result<std::string_view> MessageReader::CString() {
  size_t end = payload_.find('\0', position_);
  if (end == std::string_view::npos) return Malformed("a string is not terminated");
  std::string_view text = payload_.substr(position_, end - position_);
  position_ = end + 1;
  return text;
}

arrow::Result<std::string_view> MessageReader::Bytes(int64_t count) {
  if (count < 0 || static_cast<uint64_t>(count) > remaining()) {
    return Malformed("a length of " + std::to_string(count) + " runs past its end");
  }
  std::string_view bytes = payload_.substr(position_, static_cast<size_t>(count));
  position_ += static_cast<size_t>(count);
  return bytes;
}

arrow::Status MessageReader::ExpectEnd() const {
  if (remaining() != 0) return Malformed(std::to_string(remaining()) + " bytes left over");
  return arrow::Status::OK();
}

size_t BeginMessage(char type, std::string* out) {
  out->push_back(type);
  size_t start = out->size();
  out->append(4, '\0');
  return start;
}

void FinishMessage(size_t start, std::string* out) {
  std::string length;
  AppendInt32Binary(static_cast<int32_t>(out->size() - start), &length);
  std::memcpy(out->data() + start, length.data(), 4);
}

void AppendCString(std::string_view text, std::string* out) {
  // A NUL inside would end the field early and shift every later one.
  size_t nul = text.find('\0');
  out->append(text.substr(0, nul));
  out->push_back('\0');
}

namespace {

void AppendFields(char type, const ErrorFields& error, std::string* out) {
  size_t start = BeginMessage(type, out);
  auto field = [out](char code, std::string_view value) {
    if (value.empty()) return;
    out->push_back(code);
    AppendCString(value, out);
  };
  field('S', error.severity);
  field('V', error.severity);
  field('C', error.code);
  field('M', error.message);
  field('D', error.detail);
  field('H', error.hint);
  if (error.position > 0) field('P', std::to_string(error.position));
  out->push_back('\0');
  FinishMessage(start, out);
}

}  // namespace

void AppendErrorResponse(const ErrorFields& error, std::string* out) {
  AppendFields('E', error, out);
}

void AppendNoticeResponse(const ErrorFields& notice, std::string* out) {
  AppendFields('N', notice, out);
}

void AppendReadyForQuery(char transaction_status, std::string* out) {
  size_t start = BeginMessage('Z', out);
  out->push_back(transaction_status);
  FinishMessage(start, out);
}

void AppendCommandComplete(std::string_view tag, std::string* out) {
  size_t start = BeginMessage('C', out);
  AppendCString(tag, out);
  FinishMessage(start, out);
}

void AppendParameterStatus(std::string_view name, std::string_view value, std::string* out) {
  size_t start = BeginMessage('S', out);
  AppendCString(name, out);
  AppendCString(value, out);
  FinishMessage(start, out);
}

void AppendEmptyMessage(char type, std::string* out) {
  size_t start = BeginMessage(type, out);
  FinishMessage(start, out);
}

void AppendRowDescription(const std::vector<ResultColumn>& columns, const std::vector<bool>& binary,
                          std::string* out) {
  size_t start = BeginMessage('T', out);
  AppendInt16Binary(static_cast<int16_t>(columns.size()), out);
  for (size_t index = 0; index < columns.size(); ++index) {
    const ResultColumn& column = columns[index];
    AppendCString(column.name, out);
    AppendInt32Binary(0, out);  // not a column of a stored table
    AppendInt16Binary(0, out);
    AppendInt32Binary(column.type.oid, out);
    AppendInt16Binary(column.type.length, out);
    AppendInt32Binary(column.type.modifier, out);
    AppendInt16Binary(index < binary.size() && binary[index] ? 1 : 0, out);
  }
  FinishMessage(start, out);
}

arrow::Result<std::vector<bool>> ResultFormats(const std::vector<int16_t>& codes, size_t columns) {
  for (int16_t code : codes) {
    if (code != 0 && code != 1) {
      return arrow::Status::Invalid("unsupported format code: ", code);
    }
  }
  if (codes.empty()) return std::vector<bool>(columns, false);
  if (codes.size() == 1) return std::vector<bool>(columns, codes[0] == 1);
  if (codes.size() != columns) {
    return arrow::Status::Invalid("bind message has ", codes.size(),
                                  " result formats but query has ", columns, " columns");
  }
  std::vector<bool> binary;
  for (int16_t code : codes) binary.push_back(code == 1);
  return binary;
}

}  // namespace nlk::pgwire
