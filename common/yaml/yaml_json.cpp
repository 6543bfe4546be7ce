#include "hadmc/common/yaml_json.h"

#include <yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace hadmc {
namespace {

std::string Mark(const yaml_mark_t& m) {
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

nlohmann::json PlainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "Yes" || s == "on")
    return true;
  if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "No" || s == "off")
    return false;
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN") return std::numeric_limits<double>::quiet_NaN();
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(begin, &end, 0);
  if (errno == 0 && end == begin + s.size() && s.find_first_of(".eE") == std::string::npos)
    return static_cast<int64_t>(i);
  errno = 0;
  const double d = std::strtod(begin, &end);
  if (errno == 0 && end == begin + s.size() && s.find_first_of("0123456789") != std::string::npos)
    return d;
  return s;
}

Result<nlohmann::json> Convert(yaml_document_t* doc, yaml_node_t* node, const std::string& what,
                               int depth) {
  if (!node) return MakeError(Errc::kParse, what + ": dangling YAML node");
  if (depth > 64) return MakeError(Errc::kParse, what + ": nested deeper than 64 levels");
  switch (node->type) {
    case YAML_SCALAR_NODE: {
      std::string s(reinterpret_cast<const char*>(node->data.scalar.value), node->data.scalar.length);
      if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return nlohmann::json(s);
      return PlainScalar(s);
    }
    case YAML_SEQUENCE_NODE: {
      nlohmann::json out = nlohmann::json::array();
      for (yaml_node_item_t* it = node->data.sequence.items.start;
           it < node->data.sequence.items.top; ++it) {
        auto v = Convert(doc, yaml_document_get_node(doc, *it), what, depth + 1);
        if (!v) return v;
        out.push_back(std::move(*v));
      }
      return out;
    }
    case YAML_MAPPING_NODE: {
      nlohmann::json out = nlohmann::json::object();
      for (yaml_node_pair_t* p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
           ++p) {
        yaml_node_t* key = yaml_document_get_node(doc, p->key);
        if (!key || key->type != YAML_SCALAR_NODE)
          return MakeError(Errc::kParse, what + ": mapping keys must be scalars (" +
                                             Mark(key ? key->start_mark : node->start_mark) + ")");
        std::string k(reinterpret_cast<const char*>(key->data.scalar.value), key->data.scalar.length);
        if (out.contains(k))
          return MakeError(Errc::kParse, what + ": duplicate key '" + k + "' (" +
                                             Mark(key->start_mark) + ")");
        auto v = Convert(doc, yaml_document_get_node(doc, p->value), what, depth + 1);
        if (!v) return v;
        out[k] = std::move(*v);
      }
      return out;
    }
    default:
      return nlohmann::json(nullptr);
  }
}

}  // namespace

Result<nlohmann::json> ParseYamlAsJson(const std::string& text, const std::string& what) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return MakeError(Errc::kInternal, "libyaml: out of memory");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  yaml_document_t doc;
  if (!yaml_parser_load(&parser, &doc)) {
    std::string msg = what + " is not valid YAML: " +
                      (parser.problem ? parser.problem : "parse error") + " (" +
                      Mark(parser.problem_mark) + ")";
    yaml_parser_delete(&parser);
    return MakeError(Errc::kParse, msg);
  }
  Result<nlohmann::json> out = nlohmann::json(nullptr);
  if (yaml_node_t* root = yaml_document_get_root_node(&doc)) out = Convert(&doc, root, what, 0);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return out;
}

Result<nlohmann::json> ReadJsonOrYamlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(Errc::kNotFound, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!json) return ParseYamlAsJson(text.str(), path);
  try {
    return nlohmann::json::parse(text.str());
  } catch (const std::exception& e) {
    return MakeError(Errc::kParse, path + " is not valid JSON: " + e.what());
  }
}

}  // namespace hadmc
