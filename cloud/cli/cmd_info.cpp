// `hadmc info model.hmc [--json]`: what a model is made of — graph, inputs and outputs, metadata,
// one row per node (output shape, params, MACs, precision) and totals. Reads and checks only the
// file header, so it is instant on large models.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "hadmc/model/hmc_header.h"
#include "hadmc/model/model_summary.h"

namespace hadmc::cli {
namespace {

struct InfoCommand {
  std::string path;
  bool json = false;
};

// Long metadata values (class lists, training history) are cut in the text view; --json has
// them whole.
std::string Shorten(const std::string& v) {
  constexpr size_t kMax = 100;
  if (v.size() <= kMax) return v;
  return v.substr(0, kMax) + "... (" + std::to_string(v.size()) + " chars)";
}

void PrintText(const InfoCommand& c, const model::HmcHeader& h, const model::ModelSummary& s) {
  std::cout << "model     " << c.path << " (" << model::FormatBytes(h.file_size) << ", "
            << h.tensors.size() << " tensors)\n"
            << "graph     " << s.graph_name << " (" << s.nodes.size() << " nodes)\n";
  for (const auto& in : s.inputs)
    std::cout << "input     " << in.name << " " << ir::ShapeString(in.shape) << "\n";
  for (const auto& out : s.outputs)
    std::cout << "output    " << out.name << " " << ir::ShapeString(out.shape) << "\n";
  if (!h.metadata.empty()) {
    std::cout << "metadata\n";
    size_t width = 0;
    for (const auto& [k, v] : h.metadata) width = std::max(width, k.size());
    for (const auto& [k, v] : h.metadata)
      std::cout << "  " << k << std::string(width - k.size() + 2, ' ') << Shorten(v) << "\n";
  }
  std::cout << "\n" << model::FormatSummaryTable(s);
}

void RunInfo(const InfoCommand& c) {
  auto h = model::ReadHmcHeader(c.path);
  if (!h) Fail(h.error().message());
  auto s = model::SummarizeGraph(h->graph);
  if (!s) Fail(c.path + ": " + s.error().message());
  if (!c.json) {
    PrintText(c, *h, *s);
    return;
  }
  nlohmann::json j = model::SummaryToJson(*s);
  j["file"] = c.path;
  j["file_bytes"] = h->file_size;
  j["metadata"] = h->metadata;
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void RegisterInfo(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<InfoCommand>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Show a .hmc model: graph, metadata, per-node shapes, params, MACs and precision");
  cmd->add_option("model", c->path, ".hmc model file")->required();
  cmd->add_flag("--json", c->json, "print JSON instead of text");
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunInfo(*c);
  });
}

}  // namespace hadmc::cli
