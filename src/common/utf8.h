// UTF-8 decoding and encoding shared by the JSON reader and writer, the Delta path encoder
// and the S3 XML parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nlk {

// Decodes the UTF-8 sequence starting at `position`: returns its length in bytes and sets
// `*code_point`, or returns 0 when the bytes there are not valid UTF-8 (overlong forms,
// surrogates and values past U+10FFFF included). Pure; thread-safe.
size_t DecodeUtf8(std::string_view text, size_t position, uint32_t* code_point);

// Appends `code_point` (at most U+10FFFF) encoded as UTF-8.
void AppendUtf8(uint32_t code_point, std::string* out);

}  // namespace nlk
