#include "auth_command.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_error.h"
#include "server/token_store.h"

namespace nlk::cli {
namespace {

struct AuthArguments {
  std::string tokens_file;
  std::string principal;
  std::vector<std::string> groups;
  std::string id;
};

int CreateToken(const AuthArguments& arguments) {
  server::TokenFile file(arguments.tokens_file);
  auto token = file.Create(arguments.principal, arguments.groups);
  if (!token.ok()) return ReportError(token.status());
  // The token alone on stdout, so that scripts can capture it; it is not stored anywhere.
  std::cout << *token << std::endl;
  std::cerr << "nlk auth: token for " << arguments.principal
            << " created; it is shown only now (the file keeps its hash)" << std::endl;
  return 0;
}

int ListTokens(const AuthArguments& arguments) {
  auto records = server::TokenFile(arguments.tokens_file).Read();
  if (!records.ok()) return ReportError(records.status());
  std::cout << "id\tprincipal\tgroups\tcreated\trevoked" << std::endl;
  for (const server::TokenRecord& record : *records) {
    std::string groups;
    for (const std::string& group : record.groups) groups += (groups.empty() ? "" : ",") + group;
    std::cout << record.id << "\t" << record.principal << "\t" << (groups.empty() ? "-" : groups)
              << "\t" << record.created << "\t" << (record.revoked.empty() ? "-" : record.revoked)
              << std::endl;
  }
  return 0;
}

int RevokeToken(const AuthArguments& arguments) {
  auto revoked = server::TokenFile(arguments.tokens_file).Revoke(arguments.id);
  if (!revoked.ok()) return ReportError(revoked);
  std::cerr << "nlk auth: token " << arguments.id
            << " revoked; running servers refuse it within a second" << std::endl;
  return 0;
}

}  // namespace

void AddAuthCommand(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<AuthArguments>();
  CLI::App* auth = app.add_subcommand("auth", "Access to nlk serve");
  auth->require_subcommand(1);
  CLI::App* token = auth->add_subcommand("token", "Bearer tokens in a tokens file");
  token->require_subcommand(1);

  CLI::App* create =
      token->add_subcommand("create", "Add a token for a principal and print it (shown only once)");
  create->add_option("--tokens", arguments->tokens_file, "The tokens file (created if missing)")
      ->required();
  create->add_option("--principal", arguments->principal, "Who the token stands for")->required();
  create->add_option("--group", arguments->groups, "A group of the principal (repeatable)");
  create->callback([arguments, &exit_code] { exit_code = CreateToken(*arguments); });

  CLI::App* list = token->add_subcommand("list", "The tokens: ids, principals, groups, dates");
  list->add_option("--tokens", arguments->tokens_file, "The tokens file")->required();
  list->callback([arguments, &exit_code] { exit_code = ListTokens(*arguments); });

  CLI::App* revoke = token->add_subcommand("revoke", "Refuse a token from now on");
  revoke->add_option("id", arguments->id, "The token's id (see list)")->required();
  revoke->add_option("--tokens", arguments->tokens_file, "The tokens file")->required();
  revoke->callback([arguments, &exit_code] { exit_code = RevokeToken(*arguments); });
}

}  // namespace nlk::cli
