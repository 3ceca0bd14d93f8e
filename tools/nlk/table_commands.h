#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk table create|append|overwrite|read|history|describe|files|checkpoint|delete|update`.
void AddTableCommands(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
