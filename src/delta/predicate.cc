#include "delta/predicate.h"

#include "common/arrow_runtime.h"

#include <arrow/compute/cast.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace nlk::delta {
namespace {

namespace compute = arrow::compute;

enum class TokenKind { kIdentifier, kString, kNumber, kSymbol, kEnd };

struct Token {
  TokenKind kind;
  std::string text;
  size_t position;
};

// Whether the next token starts an operand (so a '-' before a digit is a sign, not a minus).
bool OperandMayStart(const std::vector<Token>& tokens) {
  if (tokens.empty()) return true;
  const Token& last = tokens.back();
  if (last.kind == TokenKind::kNumber || last.kind == TokenKind::kString) return false;
  if (last.kind == TokenKind::kIdentifier) return false;
  return last.text != ")";
}

arrow::Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'') {
      size_t start = i++;
      std::string value;
      while (true) {
        if (i >= text.size()) {
          return arrow::Status::Invalid("predicate: unterminated string starting at position ",
                                        start + 1);
        }
        if (text[i] == '\'') {
          if (i + 1 < text.size() && text[i + 1] == '\'') {
            value += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += text[i++];
      }
      tokens.push_back({TokenKind::kString, value, start});
    } else if (c == '"') {
      size_t start = i++;
      size_t end = text.find('"', i);
      if (end == std::string_view::npos) {
        return arrow::Status::Invalid("predicate: unterminated quoted name at position ",
                                      start + 1);
      }
      tokens.push_back({TokenKind::kIdentifier, std::string(text.substr(i, end - i)), start});
      i = end + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
               (c == '-' && i + 1 < text.size() &&
                std::isdigit(static_cast<unsigned char>(text[i + 1])) && OperandMayStart(tokens))) {
      size_t start = i++;
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '.' ||
              text[i] == '+' || (text[i] == '-' && (text[i - 1] == 'e' || text[i - 1] == 'E')))) {
        ++i;
      }
      tokens.push_back({TokenKind::kNumber, std::string(text.substr(start, i - start)), start});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
        ++i;
      }
      tokens.push_back({TokenKind::kIdentifier, std::string(text.substr(start, i - start)), start});
    } else {
      static const std::vector<std::string> kSymbols = {"<=", ">=", "<>", "!=", "=", "<", ">",
                                                        "(",  ")",  ",",  "+",  "-", "*", "/"};
      bool matched = false;
      for (const std::string& symbol : kSymbols) {
        if (text.substr(i, symbol.size()) == symbol) {
          tokens.push_back({TokenKind::kSymbol, symbol, i});
          i += symbol.size();
          matched = true;
          break;
        }
      }
      if (!matched) {
        return arrow::Status::Invalid("predicate: unexpected character '", std::string(1, c),
                                      "' at position ", i + 1);
      }
    }
  }
  tokens.push_back({TokenKind::kEnd, "", text.size()});
  return tokens;
}

bool IsKeyword(const Token& token, std::string_view keyword) {
  if (token.kind != TokenKind::kIdentifier || token.text.size() != keyword.size()) return false;
  for (size_t i = 0; i < keyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(token.text[i])) != keyword[i]) return false;
  }
  return true;
}

// An operand before binding: a column or an untyped literal.
struct Operand {
  std::optional<std::string> column;
  std::shared_ptr<arrow::DataType> column_type;
  std::shared_ptr<arrow::Scalar> literal;  // typed by its own syntax until bound
};

class Parser {
 public:
  Parser(std::vector<Token> tokens, const arrow::Schema& schema)
      : tokens_(std::move(tokens)), schema_(schema) {}

  arrow::Result<compute::Expression> Parse() {
    ARROW_ASSIGN_OR_RAISE(compute::Expression expression, ParseOr());
    if (Peek().kind != TokenKind::kEnd) return Error("unexpected '" + Peek().text + "'");
    return expression;
  }

 private:
  const Token& Peek() const { return tokens_[index_]; }
  const Token& Next() { return tokens_[index_++]; }

  arrow::Status Error(const std::string& message) const {
    return arrow::Status::Invalid(what_, ": ", message, " at position ", Peek().position + 1);
  }

  arrow::Status Expect(std::string_view symbol) {
    if (Peek().kind != TokenKind::kSymbol || Peek().text != symbol) {
      return Error("expected '" + std::string(symbol) + "'");
    }
    ++index_;
    return arrow::Status::OK();
  }

  arrow::Result<compute::Expression> ParseOr() {
    ARROW_ASSIGN_OR_RAISE(compute::Expression left, ParseAnd());
    while (IsKeyword(Peek(), "OR")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression right, ParseAnd());
      left = compute::or_(left, right);
    }
    return left;
  }

  arrow::Result<compute::Expression> ParseAnd() {
    ARROW_ASSIGN_OR_RAISE(compute::Expression left, ParseNot());
    while (IsKeyword(Peek(), "AND")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression right, ParseNot());
      left = compute::and_(left, right);
    }
    return left;
  }

  arrow::Result<compute::Expression> ParseNot() {
    if (IsKeyword(Peek(), "NOT")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression inner, ParseNot());
      return compute::not_(inner);
    }
    return ParseComparison();
  }

  arrow::Result<Operand> ParseOperand() {
    const Token& token = Peek();
    switch (token.kind) {
      case TokenKind::kString:
        ++index_;
        return Operand{std::nullopt, nullptr, arrow::MakeScalar(token.text)};
      case TokenKind::kNumber: {
        ++index_;
        bool is_integer = token.text.find_first_of(".eE") == std::string::npos;
        try {
          if (is_integer) {
            return Operand{std::nullopt, nullptr,
                           arrow::MakeScalar<int64_t>(std::stoll(token.text))};
          }
          return Operand{std::nullopt, nullptr, arrow::MakeScalar(std::stod(token.text))};
        } catch (const std::exception&) {
          --index_;
          return Error("invalid number '" + token.text + "'");
        }
      }
      case TokenKind::kIdentifier: {
        if (IsKeyword(token, "TRUE") || IsKeyword(token, "FALSE")) {
          ++index_;
          return Operand{std::nullopt, nullptr, arrow::MakeScalar(IsKeyword(token, "TRUE"))};
        }
        if (IsKeyword(token, "NULL")) {
          ++index_;
          return Operand{std::nullopt, nullptr, arrow::MakeNullScalar(arrow::null())};
        }
        auto field = schema_.GetFieldByName(token.text);
        if (field == nullptr) {
          std::string names;
          for (const auto& existing : schema_.fields()) {
            names += (names.empty() ? "" : ", ") + existing->name();
          }
          return Error("unknown column '" + token.text + "' (columns: " + names + ")");
        }
        ++index_;
        return Operand{token.text, field->type(), nullptr};
      }
      default:
        return Error(token.kind == TokenKind::kEnd ? "unexpected end of " + std::string(what_)
                                                   : "unexpected '" + token.text + "'");
    }
  }

  // A literal compared with a column takes the column's type.
  arrow::Result<compute::Expression> Bind(const Operand& operand,
                                          const std::shared_ptr<arrow::DataType>& type) {
    if (operand.column) return compute::field_ref(*operand.column);
    if (type == nullptr || operand.literal->type->Equals(*type)) {
      return compute::literal(operand.literal);
    }
    if (!operand.literal->is_valid) return compute::literal(arrow::MakeNullScalar(type));
    if (type->id() == arrow::Type::TIMESTAMP &&
        operand.literal->type->id() == arrow::Type::STRING) {
      // A time without a zone on a zoned column means that zone (UTC for Delta timestamps).
      const auto& timestamp_type = static_cast<const arrow::TimestampType&>(*type);
      auto naive =
          compute::Cast(arrow::Datum(operand.literal), arrow::timestamp(timestamp_type.unit()));
      if (naive.ok()) {
        const auto& value = static_cast<const arrow::TimestampScalar&>(*naive->scalar());
        return compute::literal(std::make_shared<arrow::TimestampScalar>(value.value, type));
      }
    }
    auto cast = compute::Cast(arrow::Datum(operand.literal), type);
    if (!cast.ok()) {
      return arrow::Status::Invalid("predicate: cannot use ", operand.literal->ToString(), " as ",
                                    type->ToString(), ": ", cast.status().message());
    }
    return compute::literal(cast->scalar());
  }

  arrow::Result<compute::Expression> ParseComparison() {
    if (Peek().kind == TokenKind::kSymbol && Peek().text == "(") {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression inner, ParseOr());
      ARROW_RETURN_NOT_OK(Expect(")"));
      return inner;
    }
    ARROW_ASSIGN_OR_RAISE(Operand left, ParseOperand());
    std::shared_ptr<arrow::DataType> type = left.column_type;

    if (IsKeyword(Peek(), "IS")) {
      ++index_;
      bool negated = false;
      if (IsKeyword(Peek(), "NOT")) {
        negated = true;
        ++index_;
      }
      if (!IsKeyword(Peek(), "NULL")) return Error("expected NULL after IS");
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression operand, Bind(left, type));
      compute::Expression is_null = compute::is_null(operand);
      return negated ? compute::not_(is_null) : is_null;
    }

    bool negated = false;
    if (IsKeyword(Peek(), "NOT")) {
      negated = true;
      ++index_;
      if (!IsKeyword(Peek(), "IN") && !IsKeyword(Peek(), "BETWEEN")) {
        return Error("expected IN or BETWEEN after NOT");
      }
    }
    if (IsKeyword(Peek(), "IN")) {
      ++index_;
      ARROW_RETURN_NOT_OK(Expect("("));
      ARROW_ASSIGN_OR_RAISE(compute::Expression operand, Bind(left, type));
      std::optional<compute::Expression> any;
      while (true) {
        ARROW_ASSIGN_OR_RAISE(Operand item, ParseOperand());
        ARROW_ASSIGN_OR_RAISE(compute::Expression value, Bind(item, type));
        compute::Expression equal = compute::equal(operand, value);
        any = any ? compute::or_(*any, equal) : equal;
        if (Peek().kind == TokenKind::kSymbol && Peek().text == ",") {
          ++index_;
          continue;
        }
        break;
      }
      ARROW_RETURN_NOT_OK(Expect(")"));
      return negated ? compute::not_(*any) : *any;
    }
    if (IsKeyword(Peek(), "BETWEEN")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(Operand low, ParseOperand());
      if (!IsKeyword(Peek(), "AND")) return Error("expected AND in BETWEEN");
      ++index_;
      ARROW_ASSIGN_OR_RAISE(Operand high, ParseOperand());
      ARROW_ASSIGN_OR_RAISE(compute::Expression operand, Bind(left, type));
      ARROW_ASSIGN_OR_RAISE(compute::Expression low_value, Bind(low, type));
      ARROW_ASSIGN_OR_RAISE(compute::Expression high_value, Bind(high, type));
      compute::Expression between = compute::and_(compute::greater_equal(operand, low_value),
                                                  compute::less_equal(operand, high_value));
      return negated ? compute::not_(between) : between;
    }

    if (Peek().kind != TokenKind::kSymbol) {
      return Error("expected a comparison operator after '" +
                   (left.column ? *left.column : left.literal->ToString()) + "'");
    }
    static const std::vector<std::string> kComparisons = {"=", "!=", "<>", "<", "<=", ">", ">="};
    if (std::find(kComparisons.begin(), kComparisons.end(), Peek().text) == kComparisons.end()) {
      return Error("expected a comparison operator, found '" + Peek().text + "'");
    }
    std::string op = Next().text;
    ARROW_ASSIGN_OR_RAISE(Operand right, ParseOperand());
    if (type == nullptr) type = right.column_type;
    if (!left.column && !right.column) {
      return Error("a comparison needs at least one column");
    }
    ARROW_ASSIGN_OR_RAISE(compute::Expression lhs, Bind(left, type));
    ARROW_ASSIGN_OR_RAISE(compute::Expression rhs, Bind(right, type));
    if (op == "=") return compute::equal(lhs, rhs);
    if (op == "!=" || op == "<>") return compute::not_equal(lhs, rhs);
    if (op == "<") return compute::less(lhs, rhs);
    if (op == "<=") return compute::less_equal(lhs, rhs);
    if (op == ">") return compute::greater(lhs, rhs);
    return compute::greater_equal(lhs, rhs);
  }

  std::vector<Token> tokens_;
  const arrow::Schema& schema_;
  size_t index_ = 0;
  std::string_view what_ = "predicate";  // what errors call the text

 public:
  // value := term (('+' | '-') term)*; term := factor (('*' | '/') factor)*;
  // factor := '-' factor | '(' value ')' | operand. A value that is one literal takes `type`;
  // literals inside arithmetic keep their own type and Arrow's arithmetic widens them.
  arrow::Result<compute::Expression> ParseValue(const std::shared_ptr<arrow::DataType>& type) {
    what_ = "expression";
    ARROW_ASSIGN_OR_RAISE(compute::Expression value, ParseSum());
    if (Peek().kind != TokenKind::kEnd) return Error("unexpected '" + Peek().text + "'");
    if (const arrow::Datum* literal = value.literal(); literal != nullptr && type != nullptr) {
      return Bind(Operand{std::nullopt, nullptr, literal->scalar()}, type);
    }
    return value;
  }

 private:
  bool PeekSymbol(std::string_view symbol) const {
    return Peek().kind == TokenKind::kSymbol && Peek().text == symbol;
  }

  arrow::Result<compute::Expression> ParseSum() {
    ARROW_ASSIGN_OR_RAISE(compute::Expression left, ParseProduct());
    while (PeekSymbol("+") || PeekSymbol("-")) {
      const std::string op = Next().text;
      ARROW_ASSIGN_OR_RAISE(compute::Expression right, ParseProduct());
      left = compute::call(op == "+" ? "add_checked" : "subtract_checked", {left, right});
    }
    return left;
  }

  arrow::Result<compute::Expression> ParseProduct() {
    ARROW_ASSIGN_OR_RAISE(compute::Expression left, ParseFactor());
    while (PeekSymbol("*") || PeekSymbol("/")) {
      const std::string op = Next().text;
      ARROW_ASSIGN_OR_RAISE(compute::Expression right, ParseFactor());
      left = compute::call(op == "*" ? "multiply_checked" : "divide_checked", {left, right});
    }
    return left;
  }

  arrow::Result<compute::Expression> ParseFactor() {
    if (PeekSymbol("-")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression inner, ParseFactor());
      return compute::call("negate_checked", {inner});
    }
    if (PeekSymbol("(")) {
      ++index_;
      ARROW_ASSIGN_OR_RAISE(compute::Expression inner, ParseSum());
      ARROW_RETURN_NOT_OK(Expect(")"));
      return inner;
    }
    ARROW_ASSIGN_OR_RAISE(Operand operand, ParseOperand());
    return Bind(operand, nullptr);
  }
};

}  // namespace

arrow::Result<arrow::compute::Expression> ParsePredicate(std::string_view text,
                                                         const arrow::Schema& schema) {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_ASSIGN_OR_RAISE(std::vector<Token> tokens, Tokenize(text));
  if (tokens.size() == 1) return arrow::Status::Invalid("predicate: empty");
  return Parser(std::move(tokens), schema).Parse();
}

arrow::Result<arrow::compute::Expression> ParseValueExpression(
    std::string_view text, const arrow::Schema& schema,
    const std::shared_ptr<arrow::DataType>& type) {
  ARROW_RETURN_NOT_OK(InitializeArrowCompute());
  ARROW_ASSIGN_OR_RAISE(std::vector<Token> tokens, Tokenize(text));
  if (tokens.size() == 1) return arrow::Status::Invalid("expression: empty");
  return Parser(std::move(tokens), schema).ParseValue(type);
}

}  // namespace nlk::delta
