#include "cli_error.h"

#include <iostream>
#include <string>

namespace nlk::cli {

int ReportError(const arrow::Status& status) {
  // Arrow prefixes messages with the code ("Invalid: "); users need only the message. Errors
  // are one line so scripts can show them whole; embedded newlines (e.g. from a printed schema)
  // become "; ".
  std::string message;
  for (char c : status.message()) {
    if (c == '\n') {
      if (!message.empty() && message.back() != ' ') message += "; ";
    } else {
      message += c;
    }
  }
  std::cerr << "nlk: " << message << std::endl;
  return kExitFailure;
}

}  // namespace nlk::cli
