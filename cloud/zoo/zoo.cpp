// The zoo's table of architectures, option checks, torchvision-style weight initialization and
// the metadata that records how a model was built.
#include "hadmc/zoo/zoo.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>

#include "architectures.h"
#include "hadmc/ir/ops.h"

namespace hadmc::zoo {
namespace {

// How torchvision initializes an architecture's linear layers.
enum class LinearInit {
  kTorchDefault,  // nn.Linear's own reset_parameters: U(+-1/sqrt(fan_in)) for weight and bias
  kNormal001,     // normal(0, 0.01) weight, zero bias (MobileNetV2, VGG)
};

struct ArchDef {
  const char* name;
  Result<ir::Graph> (*build)(const ArchOptions&);
  LinearInit linear_init;
  bool has_width_mult;
};

// The table, sorted by name.
const ArchDef kArchs[] = {
    {"mobilenet_v2", detail::BuildMobileNetV2, LinearInit::kNormal001, true},
    {"resnet18", detail::BuildResNet18, LinearInit::kTorchDefault, false},
    {"resnet34", detail::BuildResNet34, LinearInit::kTorchDefault, false},
    {"resnet8", detail::BuildResNet8, LinearInit::kTorchDefault, false},
    {"vgg11_bn", detail::BuildVgg11Bn, LinearInit::kNormal001, false},
};

Result<const ArchDef*> FindArch(const std::string& arch) {
  for (const ArchDef& a : kArchs)
    if (arch == a.name) return &a;
  std::string known;
  for (const std::string& n : ArchNames()) known += (known.empty() ? "" : ", ") + n;
  return MakeError(Errc::kNotFound, "unknown architecture '" + arch + "' (known: " + known + ")");
}

Status CheckOptions(const ArchDef& a, const ArchOptions& o) {
  auto bad = [](const std::string& what) { return MakeError(Errc::kInvalidArgument, what); };
  if (o.in_channels < 1)
    return bad("in_channels must be >= 1, got " + std::to_string(o.in_channels));
  if (o.num_classes < 1)
    return bad("num_classes must be >= 1, got " + std::to_string(o.num_classes));
  if (o.image_size < 0)
    return bad("image_size must be >= 0 (0: any size), got " + std::to_string(o.image_size));
  if (!(o.width_mult > 0.0 && o.width_mult <= 8.0))
    return bad("width_mult must be in (0, 8], got " + std::to_string(o.width_mult));
  if (!a.has_width_mult && o.width_mult != 1.0)
    return bad(std::string("width_mult applies to mobilenet_v2 only, not ") + a.name);
  return {};
}

std::string FormatDouble(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Fills every parameter of `g` in graph order from one generator, so a seed fixes all tensors.
Result<model::TensorMap> InitTensors(const ir::Graph& g, LinearInit linear_init, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  model::TensorMap tensors;
  auto make = [&](const std::string& param) -> at::Tensor& {
    return tensors[param] = at::empty(g.params.at(param).shape, at::kFloat);
  };
  for (const ir::Node& n : g.nodes) {
    for (const auto& [slot, param] : n.params) {
      if (tensors.count(param)) continue;  // shared parameter: initialized at first use
      at::Tensor& t = make(param);
      if (n.op == "conv2d" && slot == "weight") {
        // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / fan_out),
        // fan_out = out_channels * kh * kw (also for depthwise convs, as torch computes it).
        const double fan_out = static_cast<double>(t.numel() / t.size(1));
        t.normal_(0.0, std::sqrt(2.0 / fan_out), gen);
      } else if (n.op == "linear" && linear_init == LinearInit::kTorchDefault) {
        const double bound =
            1.0 / std::sqrt(static_cast<double>(g.params.at(n.params.at("weight")).shape[1]));
        t.uniform_(-bound, bound, gen);
      } else if (n.op == "linear" && slot == "weight") {
        t.normal_(0.0, 0.01, gen);
      } else if (slot == "bias" || slot == "running_mean") {
        t.zero_();
      } else if (n.op == "batch_norm" && (slot == "weight" || slot == "running_var")) {
        t.fill_(1.0);
      } else {
        return MakeError(Errc::kInternal,
                         "no initializer for parameter '" + param + "' of op '" + n.op + "'");
      }
    }
  }
  return tensors;
}

}  // namespace

std::vector<std::string> ArchNames() {
  std::vector<std::string> names;
  for (const ArchDef& a : kArchs) names.push_back(a.name);
  return names;
}

Result<ir::Graph> BuildGraph(const std::string& arch, const ArchOptions& options) {
  auto def = FindArch(arch);
  if (!def) return MakeError(def.error());
  HADMC_TRY_CTX(CheckOptions(**def, options), "architecture " + arch);
  auto g = (*def)->build(options);
  if (!g) return MakeError(g.error().WithContext("building " + arch));
  return g;
}

std::map<std::string, std::string> ArchMetadata(const std::string& arch, const ArchOptions& o) {
  std::map<std::string, std::string> m = {
      {"arch", arch},
      {"num_classes", std::to_string(o.num_classes)},
      {"in_channels", std::to_string(o.in_channels)},
      {"image_size", std::to_string(o.image_size)},
      {"small_input", o.small_input ? "true" : "false"},
  };
  if (arch == "mobilenet_v2") m["width_mult"] = FormatDouble(o.width_mult);
  return m;
}

Result<model::Model> BuildModel(const std::string& arch, const ArchOptions& options) {
  auto def = FindArch(arch);
  if (!def) return MakeError(def.error());
  auto g = BuildGraph(arch, options);
  if (!g) return MakeError(g.error());
  model::Model m;
  m.graph = std::move(*g);
  try {
    auto tensors = InitTensors(m.graph, (*def)->linear_init, options.seed);
    if (!tensors) return MakeError(tensors.error().WithContext("initializing " + arch));
    m.tensors = std::move(*tensors);
  } catch (const std::exception& e) {  // allocation failure for the big ones (vgg11_bn: 0.5 GB)
    return MakeError(Errc::kInternal, "initializing " + arch + ": " + e.what());
  }
  m.metadata = ArchMetadata(arch, options);
  m.metadata["init_seed"] = std::to_string(options.seed);
  return m;
}

Result<ArchOptions> ArchOptionsFromMetadata(const std::map<std::string, std::string>& metadata,
                                            std::string* arch) {
  ArchOptions o;
  auto get_int = [&](const char* key, int64_t& out) -> Status {
    auto it = metadata.find(key);
    if (it == metadata.end()) return {};
    size_t used = 0;
    try {
      out = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size())
      return MakeError(Errc::kParse, std::string("metadata '") + key + "' is not an integer: '" +
                                         it->second + "'");
    return {};
  };
  HADMC_TRY(get_int("in_channels", o.in_channels));
  HADMC_TRY(get_int("num_classes", o.num_classes));
  HADMC_TRY(get_int("image_size", o.image_size));
  int64_t seed = 0;
  HADMC_TRY(get_int("init_seed", seed));
  o.seed = static_cast<uint64_t>(seed);
  if (auto it = metadata.find("small_input"); it != metadata.end()) {
    if (it->second != "true" && it->second != "false")
      return MakeError(Errc::kParse,
                       "metadata 'small_input' must be true or false, got '" + it->second + "'");
    o.small_input = it->second == "true";
  }
  if (auto it = metadata.find("width_mult"); it != metadata.end()) {
    char* end = nullptr;
    o.width_mult = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end != '\0')
      return MakeError(Errc::kParse, "metadata 'width_mult' is not a number: '" + it->second + "'");
  }
  if (arch) {
    auto it = metadata.find("arch");
    *arch = it == metadata.end() ? "" : it->second;
  }
  return o;
}

ParamCount CountParameters(const ir::Graph& g) {
  std::map<std::string, bool> trainable;  // parameter name -> trainable, from the op slots
  for (const ir::Node& n : g.nodes) {
    const ir::OpDef* def = ir::FindOp(n.op);
    if (!def) continue;
    for (const ir::ParamSlot& slot : def->params)
      if (auto it = n.params.find(slot.name); it != n.params.end())
        trainable[it->second] = trainable[it->second] || slot.trainable;
  }
  ParamCount c;
  for (const auto& [name, info] : g.params) {
    int64_t n = 1;
    for (int64_t d : info.shape) n *= d;
    (trainable[name] ? c.trainable : c.buffers) += n;
    ++c.tensors;
  }
  return c;
}

}  // namespace hadmc::zoo
