#include "pgwire/row_encoder.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/type.h>
#include <arrow/util/float16.h>

#include <charconv>
#include <cstring>

#include "common/json_writer.h"
#include "format/value_text.h"
#include "pgwire/pg_type.h"
#include "pgwire/value_format.h"

namespace nlk::pgwire {
namespace {

using ValueWriter = RowEncoder::ValueWriter;

int64_t FloorDivide(int64_t value, int64_t divisor) {
  int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

// Microseconds from a count of `unit`; PostgreSQL keeps microseconds, so nanoseconds are cut
// toward the past (as a cast to timestamp(6) would).
int64_t ToMicros(int64_t value, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return value * 1'000'000;
    case arrow::TimeUnit::MILLI:
      return value * 1'000;
    case arrow::TimeUnit::MICRO:
      return value;
    case arrow::TimeUnit::NANO:
      return FloorDivide(value, 1'000);
  }
  return value;
}

template <typename Integer>
void AppendIntegerText(Integer value, std::string* out) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  (void)error;  // 24 characters hold any 64-bit integer
  out->append(digits, end);
}

// Integers go out as the PostgreSQL type ColumnTypeFor chose: int2, int4, int8, or numeric for
// uint64.
template <typename ArrayType>
ValueWriter IntegerWriter(const ArrayType& array, bool binary) {
  const int32_t oid = ColumnTypeFor(*array.type()).oid;
  if (!binary) {
    return [&array](int64_t row, std::string* out) { AppendIntegerText(array.Value(row), out); };
  }
  switch (oid) {
    case kInt2Oid:
      return [&array](int64_t row, std::string* out) {
        AppendInt16Binary(static_cast<int16_t>(array.Value(row)), out);
      };
    case kInt4Oid:
      return [&array](int64_t row, std::string* out) {
        AppendInt32Binary(static_cast<int32_t>(array.Value(row)), out);
      };
    case kInt8Oid:
      return [&array](int64_t row, std::string* out) {
        AppendInt64Binary(static_cast<int64_t>(array.Value(row)), out);
      };
    default:
      return [&array](int64_t row, std::string* out) {
        std::string text;
        AppendIntegerText(array.Value(row), &text);
        AppendNumericBinary(text, out);
      };
  }
}

ValueWriter TimeUnitWriter(const arrow::Array& array, arrow::TimeUnit::type unit, bool binary,
                           int32_t oid) {
  // Date64, time32 and timestamps/durations of every unit are read as int64 counts.
  std::function<int64_t(int64_t)> value;
  if (array.type_id() == arrow::Type::TIME32) {
    const auto& typed = static_cast<const arrow::Time32Array&>(array);
    value = [&typed](int64_t row) { return static_cast<int64_t>(typed.Value(row)); };
  } else {
    const auto* raw = array.data()->GetValues<int64_t>(1);
    value = [raw](int64_t row) { return raw[row]; };
  }
  switch (oid) {
    case kTimeOid:
      if (binary) {
        return [value, unit](int64_t row, std::string* out) {
          AppendInt64Binary(ToMicros(value(row), unit), out);
        };
      }
      return [value, unit](int64_t row, std::string* out) {
        AppendTimeText(ToMicros(value(row), unit), out);
      };
    case kIntervalOid:
      if (binary) {
        return [value, unit](int64_t row, std::string* out) {
          AppendIntervalBinary(0, 0, ToMicros(value(row), unit), out);
        };
      }
      return [value, unit](int64_t row, std::string* out) {
        AppendIntervalText(0, 0, ToMicros(value(row), unit), out);
      };
    default: {
      const bool with_zone = oid == kTimestamptzOid;
      if (binary) {
        return [value, unit](int64_t row, std::string* out) {
          AppendInt64Binary(ToMicros(value(row), unit) - kPostgresEpochMicros, out);
        };
      }
      return [value, unit, with_zone](int64_t row, std::string* out) {
        AppendTimestampText(ToMicros(value(row), unit), with_zone, out);
      };
    }
  }
}

arrow::Result<ValueWriter> MakeWriter(const arrow::Array& array, bool binary) {
  using arrow::Type;
  switch (array.type_id()) {
    case Type::BOOL: {
      const auto& typed = static_cast<const arrow::BooleanArray&>(array);
      if (binary) {
        return ValueWriter(
            [&typed](int64_t row, std::string* out) { out->push_back(typed.Value(row) ? 1 : 0); });
      }
      return ValueWriter([&typed](int64_t row, std::string* out) {
        out->push_back(typed.Value(row) ? 't' : 'f');
      });
    }
    case Type::INT8:
      return IntegerWriter(static_cast<const arrow::Int8Array&>(array), binary);
    case Type::UINT8:
      return IntegerWriter(static_cast<const arrow::UInt8Array&>(array), binary);
    case Type::INT16:
      return IntegerWriter(static_cast<const arrow::Int16Array&>(array), binary);
    case Type::UINT16:
      return IntegerWriter(static_cast<const arrow::UInt16Array&>(array), binary);
    case Type::INT32:
      return IntegerWriter(static_cast<const arrow::Int32Array&>(array), binary);
    case Type::UINT32:
      return IntegerWriter(static_cast<const arrow::UInt32Array&>(array), binary);
    case Type::INT64:
      return IntegerWriter(static_cast<const arrow::Int64Array&>(array), binary);
    case Type::UINT64:
      return IntegerWriter(static_cast<const arrow::UInt64Array&>(array), binary);
    case Type::HALF_FLOAT: {
      const auto& typed = static_cast<const arrow::HalfFloatArray&>(array);
      auto value = [&typed](int64_t row) {
        return arrow::util::Float16::FromBits(typed.Value(row)).ToFloat();
      };
      if (binary) {
        return ValueWriter(
            [value](int64_t row, std::string* out) { AppendFloat4Binary(value(row), out); });
      }
      return ValueWriter(
          [value](int64_t row, std::string* out) { AppendFloat4Text(value(row), out); });
    }
    case Type::FLOAT: {
      const auto& typed = static_cast<const arrow::FloatArray&>(array);
      if (binary) {
        return ValueWriter(
            [&typed](int64_t row, std::string* out) { AppendFloat4Binary(typed.Value(row), out); });
      }
      return ValueWriter(
          [&typed](int64_t row, std::string* out) { AppendFloat4Text(typed.Value(row), out); });
    }
    case Type::DOUBLE: {
      const auto& typed = static_cast<const arrow::DoubleArray&>(array);
      if (binary) {
        return ValueWriter(
            [&typed](int64_t row, std::string* out) { AppendFloat8Binary(typed.Value(row), out); });
      }
      return ValueWriter(
          [&typed](int64_t row, std::string* out) { AppendFloat8Text(typed.Value(row), out); });
    }
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256: {
      // Non-negative scales only: Make rescales the others to scale 0.
      const auto& typed = static_cast<const arrow::FixedSizeBinaryArray&>(array);
      std::function<std::string(int64_t)> text;
      switch (array.type_id()) {
        case Type::DECIMAL32:
          text = [&typed](int64_t row) {
            return static_cast<const arrow::Decimal32Array&>(typed).FormatValue(row);
          };
          break;
        case Type::DECIMAL64:
          text = [&typed](int64_t row) {
            return static_cast<const arrow::Decimal64Array&>(typed).FormatValue(row);
          };
          break;
        case Type::DECIMAL128:
          text = [&typed](int64_t row) {
            return static_cast<const arrow::Decimal128Array&>(typed).FormatValue(row);
          };
          break;
        default:
          text = [&typed](int64_t row) {
            return static_cast<const arrow::Decimal256Array&>(typed).FormatValue(row);
          };
      }
      if (binary) {
        return ValueWriter(
            [text](int64_t row, std::string* out) { AppendNumericBinary(text(row), out); });
      }
      return ValueWriter([text](int64_t row, std::string* out) { out->append(text(row)); });
    }
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY: {
      std::function<std::string_view(int64_t)> view;
      switch (array.type_id()) {
        case Type::STRING:
        case Type::BINARY:
          view = [&array](int64_t row) {
            return static_cast<const arrow::BinaryArray&>(array).GetView(row);
          };
          break;
        case Type::LARGE_STRING:
        case Type::LARGE_BINARY:
          view = [&array](int64_t row) {
            return static_cast<const arrow::LargeBinaryArray&>(array).GetView(row);
          };
          break;
        case Type::STRING_VIEW:
        case Type::BINARY_VIEW:
          view = [&array](int64_t row) {
            return static_cast<const arrow::BinaryViewArray&>(array).GetView(row);
          };
          break;
        default:
          view = [&array](int64_t row) {
            return static_cast<const arrow::FixedSizeBinaryArray&>(array).GetView(row);
          };
      }
      const bool is_text = ColumnTypeFor(*array.type()).oid == kTextOid;
      if (binary || is_text) {
        return ValueWriter([view](int64_t row, std::string* out) { out->append(view(row)); });
      }
      return ValueWriter(
          [view](int64_t row, std::string* out) { AppendByteaText(view(row), out); });
    }
    case Type::DATE32: {
      const auto& typed = static_cast<const arrow::Date32Array&>(array);
      if (binary) {
        return ValueWriter([&typed](int64_t row, std::string* out) {
          AppendInt32Binary(typed.Value(row) - kPostgresEpochDays, out);
        });
      }
      return ValueWriter(
          [&typed](int64_t row, std::string* out) { AppendDateText(typed.Value(row), out); });
    }
    case Type::DATE64: {
      const auto& typed = static_cast<const arrow::Date64Array&>(array);
      auto days = [&typed](int64_t row) { return FloorDivide(typed.Value(row), 86'400'000); };
      if (binary) {
        return ValueWriter([days](int64_t row, std::string* out) {
          AppendInt32Binary(static_cast<int32_t>(days(row) - kPostgresEpochDays), out);
        });
      }
      return ValueWriter([days](int64_t row, std::string* out) { AppendDateText(days(row), out); });
    }
    case Type::TIME32:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION: {
      const arrow::DataType& type = *array.type();
      const arrow::TimeUnit::type unit =
          type.id() == Type::TIMESTAMP  ? static_cast<const arrow::TimestampType&>(type).unit()
          : type.id() == Type::DURATION ? static_cast<const arrow::DurationType&>(type).unit()
                                        : static_cast<const arrow::TimeType&>(type).unit();
      return TimeUnitWriter(array, unit, binary, ColumnTypeFor(type).oid);
    }
    case Type::INTERVAL_MONTHS: {
      const auto& typed = static_cast<const arrow::MonthIntervalArray&>(array);
      if (binary) {
        return ValueWriter([&typed](int64_t row, std::string* out) {
          AppendIntervalBinary(typed.Value(row), 0, 0, out);
        });
      }
      return ValueWriter([&typed](int64_t row, std::string* out) {
        AppendIntervalText(typed.Value(row), 0, 0, out);
      });
    }
    case Type::INTERVAL_DAY_TIME: {
      const auto& typed = static_cast<const arrow::DayTimeIntervalArray&>(array);
      if (binary) {
        return ValueWriter([&typed](int64_t row, std::string* out) {
          auto value = typed.Value(row);
          AppendIntervalBinary(0, value.days, value.milliseconds * int64_t{1000}, out);
        });
      }
      return ValueWriter([&typed](int64_t row, std::string* out) {
        auto value = typed.Value(row);
        AppendIntervalText(0, value.days, value.milliseconds * int64_t{1000}, out);
      });
    }
    case Type::INTERVAL_MONTH_DAY_NANO: {
      const auto& typed = static_cast<const arrow::MonthDayNanoIntervalArray&>(array);
      if (binary) {
        return ValueWriter([&typed](int64_t row, std::string* out) {
          auto value = typed.Value(row);
          AppendIntervalBinary(value.months, value.days, FloorDivide(value.nanoseconds, 1000), out);
        });
      }
      return ValueWriter([&typed](int64_t row, std::string* out) {
        auto value = typed.Value(row);
        AppendIntervalText(value.months, value.days, FloorDivide(value.nanoseconds, 1000), out);
      });
    }
    default:
      break;
  }
  if (ColumnTypeFor(*array.type()).oid == kJsonOid) {
    // json's binary form is its text.
    return ValueWriter([&array](int64_t row, std::string* out) {
      JsonWriter writer;
      // Every value of a supported nested type has JSON text; a failure cannot happen here.
      (void)format::AppendJsonValue(array, row, writer);
      out->append(writer.str());
    });
  }
  return ValueWriter([&array](int64_t row, std::string* out) {
    // Types without a PostgreSQL counterpart are sent as the text the HTTP API writes.
    (void)format::AppendText(array, row, out);
  });
}

// Dictionary columns are expanded to their values, and decimals with a negative scale (which
// PostgreSQL's numeric cannot show) are rescaled to integers.
arrow::Result<std::shared_ptr<arrow::Array>> Normalize(std::shared_ptr<arrow::Array> array) {
  if (array->type_id() == arrow::Type::DICTIONARY) {
    const auto& dictionary = static_cast<const arrow::DictionaryArray&>(*array);
    ARROW_ASSIGN_OR_RAISE(arrow::Datum taken,
                          arrow::compute::Take(dictionary.dictionary(), dictionary.indices()));
    return Normalize(taken.make_array());
  }
  if (arrow::is_decimal(array->type_id())) {
    const auto& decimal = static_cast<const arrow::DecimalType&>(*array->type());
    if (decimal.scale() < 0) {
      auto target = arrow::decimal256(std::min(76, decimal.precision() - decimal.scale()), 0);
      ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(array, target));
      return cast.make_array();
    }
  }
  return array;
}

}  // namespace

std::vector<ResultColumn> DescribeColumns(const arrow::Schema& schema) {
  std::vector<ResultColumn> columns;
  for (const auto& field : schema.fields()) {
    columns.push_back({field->name(), ColumnTypeFor(*field->type())});
  }
  return columns;
}

arrow::Result<RowEncoder> RowEncoder::Make(const arrow::RecordBatch& batch,
                                           const std::vector<bool>& binary) {
  RowEncoder encoder;
  encoder.columns_.reserve(static_cast<size_t>(batch.num_columns()));
  for (int index = 0; index < batch.num_columns(); ++index) {
    Column column;
    ARROW_ASSIGN_OR_RAISE(column.array, Normalize(batch.column(index)));
    bool column_binary = static_cast<size_t>(index) < binary.size() && binary[index];
    ARROW_ASSIGN_OR_RAISE(column.write, MakeWriter(*column.array, column_binary));
    encoder.columns_.push_back(std::move(column));
  }
  return encoder;
}

void RowEncoder::AppendRow(int64_t row, std::string* out) const {
  size_t start = BeginMessage('D', out);
  AppendInt16Binary(static_cast<int16_t>(columns_.size()), out);
  for (const Column& column : columns_) {
    if (column.array->IsNull(row)) {
      AppendInt32Binary(-1, out);
      continue;
    }
    size_t length_at = out->size();
    out->append(4, '\0');
    column.write(row, out);
    std::string length;
    AppendInt32Binary(static_cast<int32_t>(out->size() - length_at - 4), &length);
    std::memcpy(out->data() + length_at, length.data(), 4);
  }
  FinishMessage(start, out);
}

}  // namespace nlk::pgwire
