#pragma once

#include <CLI/CLI.hpp>

namespace nlk::cli {

// `nlk auth token create|list|revoke`: the bearer tokens `nlk serve --tokens FILE` accepts.
void AddAuthCommand(CLI::App& app, int& exit_code);

}  // namespace nlk::cli
