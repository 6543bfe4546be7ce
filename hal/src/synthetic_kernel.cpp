// One-node models rebuilt from a KernelKey, for the kernels the cloud asks a device class to
// profile (a search's candidates that no deployed model has yet). The node is built the way the
// compression passes build deployed ones (cloud/compress/quantize_int8.cpp,
// store_low_precision.cpp), so its kernel is the one a deployed graph would run.
#include "synthetic_kernel.h"

#include <ATen/ATen.h>

#include <set>

#include "hadmc/exec/low_precision.h"

namespace hadmc::hal {
namespace {

// Ops that take a fused activation (the key's kind then ends in _relu or _relu6).
const std::set<std::string> kFusable = {"conv2d", "linear", "add"};
// Ops rebuilt without one.
const std::set<std::string> kPlain = {"mul",     "batch_norm", "relu",       "relu6",
                                      "silu",    "sigmoid",    "hardswish",  "identity",
                                      "softmax", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
                                      "flatten", "quantize",   "dequantize"};
// Int8 nodes: the weight ops and add on their int8 kernels, the ops the quantize pass keeps in
// an int8 region (they run on quint8 values), and quantize itself.
const std::set<std::string> kInt8 = {
    "conv2d",  "linear",   "add",     "relu", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "flatten", "identity", "quantize"};
// Each input and each weight at most this many elements: a bad key must not exhaust memory.
constexpr int64_t kMaxElements = int64_t{1} << 26;

struct Kind {
  std::string op;
  std::string activation = "none";
};

Result<Kind> SplitKind(const std::string& kind) {
  for (const char* act : {"relu6", "relu"}) {
    const std::string suffix = std::string("_") + act;
    if (kind.size() > suffix.size() &&
        kind.compare(kind.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string op = kind.substr(0, kind.size() - suffix.size());
      if (kFusable.count(op)) return Kind{op, act};
    }
  }
  if (kFusable.count(kind) || kPlain.count(kind)) return Kind{kind};
  return MakeError(Errc::kUnsupported,
                   "no synthetic kernel for kind '" + kind +
                       "': conv2d, linear, add (each also _relu, _relu6), mul, batch_norm, relu, "
                       "relu6, silu, sigmoid, hardswish, identity, softmax, max_pool2d, "
                       "avg_pool2d, adaptive_avg_pool2d, flatten, quantize, dequantize");
}

ir::DType DTypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kHalf:
      return ir::DType::kF16;
    case at::kChar:
      return ir::DType::kI8;
    case at::kByte:
      return ir::DType::kU8;
    default:
      return ir::DType::kF32;
  }
}

int64_t Numel(const ir::Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n = d > 0 && n <= kMaxElements ? n * d : kMaxElements + 1;
  return n;
}

class NodeBuilder {
 public:
  NodeBuilder(const KernelKey& key, const Kind& kind) : key_(key) {
    node_.name = "kernel";
    node_.op = kind.op;
    node_.outputs = {"out"};
    node_.precision = key.precision;
    if (kFusable.count(kind.op)) node_.attrs.Set("activation", kind.activation);
  }
  ir::Node& node() { return node_; }
  void Param(const std::string& slot, at::Tensor t) {
    const std::string name = "kernel." + slot;
    node_.params[slot] = name;
    m_.graph.params[name] = ir::ParamInfo{t.sizes().vec(), DTypeOf(t)};
    m_.tensors[name] = std::move(t);
  }
  // A conv/linear weight (fp32 values `w` [O, ...]) stored at the key's precision, and a bias.
  void Weight(const at::Tensor& w) {
    switch (key_.precision) {
      case ir::Precision::kFp32:
        Param("weight", w);
        break;
      case ir::Precision::kFp16:
        Param("weight", w.to(at::kHalf).contiguous());
        break;
      case ir::Precision::kInt8: {
        // 7-bit codes (what reduce range stores); the kernel's speed does not depend on it.
        auto [codes, scale] = exec::QuantizePerChannel(w, 63.0);
        Param("weight", codes);
        Param("weight_scale", scale);
        break;
      }
      case ir::Precision::kInt4: {
        auto [packed, scale] = exec::QuantizeInt4(w);
        node_.attrs.Set("weight_shape", w.sizes().vec());
        Param("weight", packed);
        Param("weight_scale", scale);
        break;
      }
    }
    Param("bias", at::randn({w.size(0)}) * 0.1);
  }
  Result<SyntheticKernel> Finish(int num_inputs) {
    SyntheticKernel s;
    const char* names[] = {"x", "y"};
    for (int i = 0; i < num_inputs; ++i) {
      node_.inputs.push_back(names[i]);
      m_.graph.inputs.push_back({names[i], key_.input});
      s.input_shapes.push_back(key_.input);
      // Int8 nodes read quint8 values, except quantize, which makes them; dequantize reads them.
      const bool quint8 = (key_.precision == ir::Precision::kInt8 && node_.op != "quantize") ||
                          node_.op == "dequantize";
      at::Tensor x = at::rand(key_.input);
      s.inputs.push_back(quint8 ? at::quantize_per_tensor(x, 1.0 / 255, 0, at::kQUInt8) : x);
    }
    if (key_.precision == ir::Precision::kInt8 && node_.op != "quantize" &&
        (node_.op == "conv2d" || node_.op == "linear" || node_.op == "add")) {
      const std::string act = node_.attrs.GetString("activation", "none").value_or("none");
      // Outputs in a plausible range; relu6 saturates through [0, 6], as the quantize pass does.
      node_.attrs.Set("out_scale", act == "relu6" ? 6.0 / 255 : 0.05);
      node_.attrs.Set("out_zero_point", int64_t{act == "none" ? 128 : 0});
    }
    m_.graph.name = "synthetic " + key_.kind;
    m_.graph.nodes.push_back(node_);
    m_.graph.outputs = {"out"};
    HADMC_TRY(model::CheckConsistent(m_));
    s.model = std::move(m_);
    return s;
  }

 private:
  const KernelKey& key_;
  ir::Node node_;
  model::Model m_;
};

Status Require(bool ok, const std::string& what) {
  if (ok) return {};
  return MakeError(Errc::kInvalidArgument, what);
}

}  // namespace

Result<SyntheticKernel> BuildSyntheticKernel(const KernelKey& key) {
  auto kind = SplitKind(key.kind);
  if (!kind) return MakeError(kind.error());
  const std::string& op = kind->op;
  const ir::Shape& x = key.input;
  HADMC_TRY(Require(!x.empty() && Numel(x) <= kMaxElements,
                    "input " + ir::ShapeString(x) + " must have dimensions >= 1 and at most " +
                        std::to_string(kMaxElements) + " elements"));
  if (key.precision == ir::Precision::kInt8 && !kInt8.count(op))
    return MakeError(Errc::kUnsupported, "no int8 kernel for " + op + " in this executor");
  if ((key.precision == ir::Precision::kFp16 || key.precision == ir::Precision::kInt4) &&
      op != "conv2d" && op != "linear")
    return MakeError(Errc::kUnsupported, "only conv2d and linear weights are stored in " +
                                             std::string(ir::PrecisionName(key.precision)));

  NodeBuilder b(key, *kind);
  ir::Attributes& a = b.node().attrs;
  const auto pair = [](int64_t v) { return std::vector<int64_t>{v, v}; };
  const bool windowed = op == "conv2d" || op == "max_pool2d" || op == "avg_pool2d";
  if (windowed) {
    HADMC_TRY(Require(x.size() == 4, op + " takes [N,C,H,W], not " + ir::ShapeString(x)));
    HADMC_TRY(Require(key.kernel_h >= 1 && key.kernel_w >= 1 && key.stride >= 1 && key.padding >= 0,
                      op + " needs a window >= 1x1, stride >= 1 and padding >= 0"));
    a.Set("stride", pair(key.stride));
    a.Set("padding", pair(key.padding));
  }
  int num_inputs = 1;
  if (op == "conv2d") {
    const int64_t g = key.groups, o = key.out_channels, c = x[1];
    HADMC_TRY(Require(g >= 1 && o >= 1 && c % g == 0 && o % g == 0,
                      "conv2d needs out_channels >= 1 and groups dividing both channel counts"));
    const ir::Shape w = {o, c / g, key.kernel_h, key.kernel_w};
    HADMC_TRY(
        Require(Numel(w) <= kMaxElements, "conv2d weight " + ir::ShapeString(w) + " too big"));
    a.Set("dilation", pair(1));
    a.Set("groups", g);
    b.Weight(at::randn(w) * 0.1);
  } else if (op == "linear") {
    const ir::Shape w = {key.out_channels, x.back()};
    HADMC_TRY(Require(x.size() >= 2 && key.out_channels >= 1 && Numel(w) <= kMaxElements,
                      "linear needs an input [N, F] and out_channels >= 1 (weight at most " +
                          std::to_string(kMaxElements) + " elements)"));
    b.Weight(at::randn(w) * 0.1);
  } else if (op == "add" || op == "mul") {
    num_inputs = 2;  // both the key's shape
  } else if (op == "batch_norm") {
    HADMC_TRY(Require(x.size() >= 2, "batch_norm takes [N, C, ...]"));
    a.Set("eps", 1e-5);
    a.Set("momentum", 0.1);
    b.Param("weight", at::rand({x[1]}) + 0.5);
    b.Param("bias", at::randn({x[1]}) * 0.1);
    b.Param("running_mean", at::randn({x[1]}) * 0.1);
    b.Param("running_var", at::rand({x[1]}) + 0.5);
  } else if (op == "max_pool2d" || op == "avg_pool2d") {
    a.Set("kernel", std::vector<int64_t>{key.kernel_h, key.kernel_w});
  } else if (op == "adaptive_avg_pool2d") {
    a.Set("output_size", pair(1));  // the key does not record it; zoo models pool to 1x1
  } else if (op == "flatten") {
    a.Set("start_dim", int64_t{1});
  } else if (op == "quantize") {
    a.Set("scale", 1.0 / 255);
    a.Set("zero_point", int64_t{0});
  }
  auto built = b.Finish(num_inputs);
  if (!built) return MakeError(built.error().WithContext("synthetic " + op + " node"));
  return built;
}

}  // namespace hadmc::hal
