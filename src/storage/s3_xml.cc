#include "storage/s3_xml.h"

#include <arrow/status.h>

#include <charconv>
#include <ctime>
#include <optional>

#include "common/utf8.h"

namespace nlk::storage {
namespace {

// The raw text between <tag> and </tag>, searching from `*position` and moving it past the end.
std::optional<std::string_view> NextElement(std::string_view xml, std::string_view tag,
                                            size_t* position) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t begin = xml.find(open, *position);
  if (begin == std::string_view::npos) return std::nullopt;
  const size_t text_begin = begin + open.size();
  const size_t end = xml.find(close, text_begin);
  if (end == std::string_view::npos) return std::nullopt;
  *position = end + close.size();
  return xml.substr(text_begin, end - text_begin);
}

std::optional<std::string_view> FirstElement(std::string_view xml, std::string_view tag) {
  size_t position = 0;
  return NextElement(xml, tag, &position);
}

template <typename Integer>
std::optional<Integer> ParseInteger(std::string_view text, int base = 10) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

arrow::Result<std::string> XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t position = 0;
  while (position < text.size()) {
    const size_t amp = text.find('&', position);
    if (amp == std::string_view::npos) {
      out.append(text.substr(position));
      break;
    }
    out.append(text.substr(position, amp - position));
    const size_t semicolon = text.find(';', amp);
    if (semicolon == std::string_view::npos) {
      return arrow::Status::IOError("malformed XML from S3: unterminated entity in '", text, "'");
    }
    const std::string_view entity = text.substr(amp + 1, semicolon - amp - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.starts_with("#")) {
      const bool hexadecimal = entity.starts_with("#x") || entity.starts_with("#X");
      const auto code_point =
          ParseInteger<uint32_t>(entity.substr(hexadecimal ? 2 : 1), hexadecimal ? 16 : 10);
      if (!code_point || *code_point > 0x10FFFF) {
        return arrow::Status::IOError("malformed XML from S3: bad character reference '&", entity,
                                      ";'");
      }
      AppendUtf8(*code_point, &out);
    } else {
      return arrow::Status::IOError("malformed XML from S3: unknown entity '&", entity, ";'");
    }
    position = semicolon + 1;
  }
  return out;
}

arrow::Result<int64_t> ParseIso8601Milliseconds(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  auto field = [&](size_t offset, size_t length) -> std::optional<int> {
    if (offset + length > text.size()) return std::nullopt;
    return ParseInteger<int>(text.substr(offset, length));
  };
  const auto year = field(0, 4), month = field(5, 2), day = field(8, 2), hour = field(11, 2),
             minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text.size() < 20 ||
      text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return arrow::Status::IOError("malformed timestamp from S3: '", text, "'");
  }
  int64_t milliseconds = 0;
  if (text[19] == '.') {
    // Keep the first three fraction digits, padding "5" to 500.
    const std::string_view fraction = text.substr(20, text.size() - 21);
    int scale = 100;
    for (size_t i = 0; i < fraction.size() && scale > 0; ++i, scale /= 10) {
      if (fraction[i] < '0' || fraction[i] > '9') {
        return arrow::Status::IOError("malformed timestamp from S3: '", text, "'");
      }
      milliseconds += (fraction[i] - '0') * scale;
    }
  }
  std::tm time{};
  time.tm_year = *year - 1900;
  time.tm_mon = *month - 1;
  time.tm_mday = *day;
  time.tm_hour = *hour;
  time.tm_min = *minute;
  time.tm_sec = *second;
  return static_cast<int64_t>(timegm(&time)) * 1000 + milliseconds;
}

arrow::Result<S3ListPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return arrow::Status::IOError("unexpected ListObjectsV2 response from S3: ",
                                  xml.substr(0, 200));
  }
  S3ListPage page;
  size_t position = 0;
  while (auto contents = NextElement(xml, "Contents", &position)) {
    const auto key = FirstElement(*contents, "Key");
    const auto size = FirstElement(*contents, "Size");
    if (!key || !size) {
      return arrow::Status::IOError(
          "malformed ListObjectsV2 response from S3: <Contents> "
          "without <Key> or <Size>");
    }
    S3ListedObject object;
    ARROW_ASSIGN_OR_RAISE(object.key, XmlUnescape(*key));
    const auto parsed_size = ParseInteger<int64_t>(*size);
    if (!parsed_size) {
      return arrow::Status::IOError("malformed ListObjectsV2 response from S3: size '", *size, "'");
    }
    object.size = *parsed_size;
    if (const auto modified = FirstElement(*contents, "LastModified")) {
      ARROW_ASSIGN_OR_RAISE(object.last_modified_ms, ParseIso8601Milliseconds(*modified));
    }
    page.objects.push_back(std::move(object));
  }
  // <Contents> never nests these, and a key containing the text "<IsTruncated>" would arrive
  // escaped, so searching the whole document is exact.
  page.truncated = FirstElement(xml, "IsTruncated") == std::optional<std::string_view>("true");
  if (const auto token = FirstElement(xml, "NextContinuationToken")) {
    ARROW_ASSIGN_OR_RAISE(page.next_continuation_token, XmlUnescape(*token));
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    return arrow::Status::IOError(
        "malformed ListObjectsV2 response from S3: truncated without a continuation token");
  }
  return page;
}

arrow::Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  const auto upload_id = FirstElement(xml, "UploadId");
  if (!upload_id.has_value() || upload_id->empty()) {
    return arrow::Status::IOError("S3 answered a multipart upload request without an UploadId");
  }
  return XmlUnescape(*upload_id);
}

S3ErrorBody ParseS3Error(std::string_view xml) {
  S3ErrorBody error;
  if (const auto code = FirstElement(xml, "Code")) {
    error.code = XmlUnescape(*code).ValueOr(std::string(*code));
  }
  if (const auto message = FirstElement(xml, "Message")) {
    error.message = XmlUnescape(*message).ValueOr(std::string(*message));
  }
  return error;
}

}  // namespace nlk::storage
