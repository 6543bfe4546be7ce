// YAML documents as JSON values, so every config and recipe reader takes YAML or JSON through
// one code path (nlohmann::json). Plain scalars become null, booleans, integers or floats when
// they read as such (YAML 1.1 core forms: null ~ true false yes no, decimal/hex numbers, .inf,
// .nan); quoted scalars stay strings. Anchors and aliases are resolved by libyaml. Errors carry
// the line and column.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "hadmc/common/error.h"

namespace hadmc {

// Parses the first document of `text`; `what` names the source in errors.
Result<nlohmann::json> ParseYamlAsJson(const std::string& text, const std::string& what = "YAML");

// Reads a file as JSON when its name ends in .json, as YAML otherwise (YAML is a superset of
// JSON for these files, so .yaml/.yml and unknown names both work).
Result<nlohmann::json> ReadJsonOrYamlFile(const std::string& path);

}  // namespace hadmc
