// Z85, the JSON-friendly Base85 variant (ZeroMQ RFC 32) that Delta uses for inline deletion
// vectors and for the UUIDs of deletion vector file names.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace nlk::delta::data {

// Encodes `bytes`, whose length must be a multiple of 4 (Z85 has no padding). Delta pads inline
// bitmaps itself and records the unpadded length in `sizeInBytes`.
arrow::Result<std::string> Z85Encode(std::string_view bytes);

// Decodes `text`, whose length must be a multiple of 5, into length * 4 / 5 bytes. Characters
// outside the Z85 alphabet and groups that overflow 32 bits are errors.
arrow::Result<std::string> Z85Decode(std::string_view text);

}  // namespace nlk::delta::data
