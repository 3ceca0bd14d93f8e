// Escaping text for HTML and XML: element content and quoted attribute values.
#pragma once

#include <string>
#include <string_view>

namespace nlk {

// Replaces & < > " ' with entities (&amp; &lt; &gt; &quot; &#39;), which both HTML and XML read.
std::string EscapeMarkup(std::string_view text);

}  // namespace nlk
