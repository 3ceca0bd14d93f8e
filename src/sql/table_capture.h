// Which tables a query touched, for the audit log: while a TableCapture lives, the table names a
// catalog reports with TableCapture::Note on the same thread are collected (each once, in the
// order first seen). The SQL engine resolves every table while planning, on the thread that
// calls Execute or Describe, so a capture around that call sees all of a query's tables.
//
// Thread-safety: a capture belongs to the thread that made it; captures nest (the inner one
// collects while it lives).
#pragma once

#include <string>
#include <vector>

namespace nlk::sql {

class TableCapture {
 public:
  TableCapture();
  ~TableCapture();
  TableCapture(const TableCapture&) = delete;
  TableCapture& operator=(const TableCapture&) = delete;

  const std::vector<std::string>& tables() const { return tables_; }
  std::vector<std::string> Take() { return std::move(tables_); }

  // Adds `name` to this thread's current capture, if any.
  static void Note(const std::string& name);

 private:
  TableCapture* previous_;
  std::vector<std::string> tables_;
};

}  // namespace nlk::sql
