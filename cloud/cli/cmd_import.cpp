// `hadmc import --arch resnet18 model.pt --out model.hmc`: turns a TorchScript module of a zoo
// architecture (e.g. a traced torchvision model) into a .hmc model, matching tensors by name.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/zoo/torchscript_import.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::cli {
namespace {

struct ImportCommand {
  std::string arch;
  std::string input;
  std::string out;
  zoo::ImportOptions options;
  bool small_input = false;
  CLI::Option* small_input_flag = nullptr;
};

// 11689512 -> "11,689,512"
std::string Grouped(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void RunImport(ImportCommand& c) {
  if (c.small_input_flag->count() > 0) c.options.small_input = c.small_input;
  auto m = zoo::ImportTorchScript(c.input, c.arch, c.options);
  if (!m) Fail(m.error().message());
  if (auto saved = model::SaveHmc(*m, c.out); !saved)
    Fail("writing " + c.out + ": " + saved.error().message());

  const zoo::ParamCount count = zoo::CountParameters(m->graph);
  const auto& md = m->metadata;
  char megabytes[32];
  std::snprintf(megabytes, sizeof megabytes, "%.1f",
                static_cast<double>(count.trainable + count.buffers) * 4.0 / 1e6);
  std::cout << "imported " << c.arch << " from " << c.input << "\n"
            << "  classes       " << md.at("num_classes") << "\n"
            << "  in channels   " << md.at("in_channels") << "\n"
            << "  input         " << ir::ShapeString(m->graph.inputs.at(0).shape) << "\n"
            << "  small input   " << md.at("small_input") << "\n"
            << "  parameters    " << Grouped(count.trainable) << " (+ " << Grouped(count.buffers)
            << " BN statistics; " << count.tensors << " tensors, " << megabytes << " MB fp32)\n"
            << "wrote " << c.out << "\n";
}

}  // namespace

void RegisterImport(CLI::App& app, const GlobalOptions& g) {
  auto c = std::make_shared<ImportCommand>();
  CLI::App* cmd = app.add_subcommand(
      "import", "Import a TorchScript module (e.g. a traced torchvision model) as a .hmc model");
  cmd->add_option("model", c->input, "TorchScript file (torch.jit.trace/script + save)")
      ->required();
  cmd->add_option("--arch", c->arch, "zoo architecture whose parameter names the model uses")
      ->required()
      ->check(CLI::IsMember(zoo::ArchNames()));
  cmd->add_option("--out,-o", c->out, "output .hmc file")->required();
  cmd->add_option("--input-size", c->options.input_size,
                  "nominal input height = width of the graph (0: any size)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c->small_input_flag = cmd->add_flag(
      "--small-input,!--no-small-input", c->small_input,
      "force the small-input (28-32 px) variant on or off (default: inferred from the weights "
      "for ResNets, off otherwise)");
  cmd->add_option("--width-mult", c->options.width_mult, "mobilenet_v2 width multiplier")
      ->capture_default_str();
  cmd->callback([c, &g] {
    ApplyGlobalOptions(g);
    RunImport(*c);
  });
}

}  // namespace hadmc::cli
