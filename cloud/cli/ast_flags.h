// The adaptive-sparse-training flags shared by `hadmc train`, `hadmc compress` and the
// experiments: --ast --ast-target 0.3 --ast-entropy-weight W --ast-kp KP --ast-ki KI
// --ast-smoothing S --ast-warmup-epochs E --ast-gain-warmup-epochs G --ast-min-active F.
// They override a recipe's keys of the same name (ast, ast_target, ...).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hadmc/train/ast_options.h"

namespace hadmc::cli {

struct AstFlags {
  train::AstOptions values;  // what the flags parsed into (defaults where not given)
  std::vector<std::pair<CLI::Option*, std::string>> options;  // flag -> recipe key
};

void AddAstFlags(CLI::App* cmd, AstFlags& flags);

// The recipe keys of the flags given on the command line, e.g. {"ast": true, "ast_target": 0.2}.
nlohmann::json GivenAstFlags(const AstFlags& flags);

// `base` (e.g. from a recipe) with the given flags over it. Fails (cli::Fail) with a message
// naming the flag when a value is out of range, or when an --ast-* tuning flag is given while
// AST stays off (a likely mistake: the tuning would silently do nothing).
train::AstOptions ResolveAstOptions(const AstFlags& flags, const train::AstOptions& base = {});

}  // namespace hadmc::cli
