#include "delta/data/uuid.h"

#include <random>

namespace nlk::delta::data {

UuidBytes RandomUuid() {
  // One generator per thread: seeded once from the OS, so names stay unique without a lock.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  UuidBytes uuid;
  for (size_t i = 0; i < uuid.size(); i += 8) {
    uint64_t bits = generator();
    for (size_t j = 0; j < 8; ++j) uuid[i + j] = static_cast<uint8_t>(bits >> (8 * j));
  }
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0F) | 0x40);  // version 4
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return uuid;
}

std::string UuidToString(const UuidBytes& uuid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[uuid[i] >> 4]);
    text.push_back(kHex[uuid[i] & 0x0F]);
  }
  return text;
}

}  // namespace nlk::delta::data
