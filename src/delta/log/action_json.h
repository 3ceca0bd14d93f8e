// The JSON form of log actions: one action per line (PROTOCOL.md "Delta Log Entries").
//
// Parsing ignores unknown action kinds and unknown fields, as the protocol requires for forward
// compatibility; it rejects malformed JSON and fields of the wrong type with an error naming the
// source (e.g. "_delta_log/00000000000000000003.json") and the 1-based line number.
// Serialization writes keys in a fixed order (the order of the spec's field tables), so the same
// action always gives the same bytes. Paths are URI-decoded on parse and encoded on write
// (path_encoding.h). All functions are pure and thread-safe.
#pragma once

#include <arrow/result.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delta/log/actions.h"

namespace nlk::delta {

// One line. nullopt for a blank line or an action kind this version does not know.
arrow::Result<std::optional<Action>> ParseActionLine(std::string_view line,
                                                     std::string_view source = "<input>",
                                                     int64_t line_number = 1);

// A whole newline-delimited file (a commit or a JSON checkpoint).
arrow::Result<std::vector<Action>> ParseActionLines(std::string_view contents,
                                                    std::string_view source);

// One action as a single JSON line, without the trailing newline.
std::string SerializeAction(const Action& action);

// Actions as a commit file: each on its own line, each line ending in '\n'.
std::string SerializeActions(const std::vector<Action>& actions);

}  // namespace nlk::delta
