#include "cli_error.h"

#include <iostream>

namespace nlk::cli {

int ReportError(const arrow::Status& status) {
  // Arrow prefixes messages with the code ("Invalid: "); users need only the message.
  std::cerr << "nlk: " << status.message() << std::endl;
  return kExitFailure;
}

}  // namespace nlk::cli
