#include "sql/table_capture.h"

#include <algorithm>

namespace nlk::sql {
namespace {

thread_local TableCapture* current_capture = nullptr;

}  // namespace

TableCapture::TableCapture() : previous_(current_capture) { current_capture = this; }

TableCapture::~TableCapture() { current_capture = previous_; }

void TableCapture::Note(const std::string& name) {
  TableCapture* capture = current_capture;
  if (capture == nullptr) return;
  if (std::find(capture->tables_.begin(), capture->tables_.end(), name) == capture->tables_.end()) {
    capture->tables_.push_back(name);
  }
}

}  // namespace nlk::sql
