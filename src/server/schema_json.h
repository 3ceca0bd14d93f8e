// Arrow schemas in the JSON shape ROAPI returns from /api/schema (arrow-rs's serde form):
//   {"fields":[{"name":"a","data_type":"Int32","nullable":false,"dict_id":0,
//               "dict_is_ordered":false,"metadata":{}}],"metadata":{}}
// with data types such as "Utf8", "Float64" and {"Timestamp":["Microsecond","UTC"]}.
//
// Pure; thread-safe.
#pragma once

#include <arrow/type_fwd.h>

#include <string>

namespace nlk::server {

std::string SchemaJson(const arrow::Schema& schema);

}  // namespace nlk::server
