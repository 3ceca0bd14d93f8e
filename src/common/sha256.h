// SHA-256 digests as lowercase hex (OpenSSL's libcrypto).
#pragma once

#include <string>
#include <string_view>

namespace nlk {

std::string Sha256Hex(std::string_view data);

}  // namespace nlk
