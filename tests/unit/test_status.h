// gtest assertions for arrow::Status and arrow::Result that print the error on failure.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <gtest/gtest.h>

#include <utility>

#define ASSERT_OK(expression)                        \
  do {                                               \
    const arrow::Status _status = (expression);      \
    ASSERT_TRUE(_status.ok()) << _status.ToString(); \
  } while (false)

#define NLK_CONCAT_INNER(a, b) a##b
#define NLK_CONCAT(a, b) NLK_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(target, expression) \
  ASSERT_OK_AND_ASSIGN_IMPL(NLK_CONCAT(_result_, __LINE__), target, expression)
#define ASSERT_OK_AND_ASSIGN_IMPL(result, target, expression) \
  auto result = (expression);                                 \
  ASSERT_TRUE(result.ok()) << result.status().ToString();     \
  target = std::move(result).ValueUnsafe()
