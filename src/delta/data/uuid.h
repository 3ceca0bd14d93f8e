// Random (version 4) UUIDs for data file and deletion vector file names, which the protocol
// requires to be unique ("Data files MUST be uniquely named").
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace nlk::delta::data {

using UuidBytes = std::array<uint8_t, 16>;

// A fresh random version-4 UUID. Thread-safe.
UuidBytes RandomUuid();

// The canonical lowercase text form, e.g. "d2c639aa-8816-431a-aaf6-d3fe2512ff61".
std::string UuidToString(const UuidBytes& uuid);

}  // namespace nlk::delta::data
