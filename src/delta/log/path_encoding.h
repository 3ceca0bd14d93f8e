// The URI form of file paths in add/remove/cdc actions (PROTOCOL.md "Add File and Remove File":
// "The path is a URI as specified by RFC 2396").
//
// Encoding matches what Spark writes (Hadoop Path.toUri, i.e. java.net.URI path quoting), so a
// file we add and the same file added by Spark have the same key in the log:
//   - kept: ASCII letters and digits, "-_.!~*'()" (RFC 2396 "mark"), ";:@&=+$,/" and, when they
//     start an absolute URI, the "scheme://authority" part;
//   - percent-encoded with uppercase hex: every other ASCII byte (space, '%', '#', '?', '"',
//     '[', ']', '{', '}', '|', '\\', '^', '`', '<', '>', control characters);
//   - non-ASCII characters are kept as UTF-8, except control and space characters (e.g. U+00A0),
//     which are percent-encoded; bytes that are not valid UTF-8 are percent-encoded.
#pragma once

#include <string>
#include <string_view>

namespace nlk::delta {

std::string EncodeLogPath(std::string_view path);

// Decodes %XX sequences. A '%' not followed by two hex digits is kept literally: some writers
// logged raw paths, and refusing to read the table over it helps nobody.
std::string DecodeLogPath(std::string_view encoded);

}  // namespace nlk::delta
