#include "op_helpers.h"

#include <ATen/ATen.h>

namespace hadmc::ops {
namespace {

std::string Join(const std::vector<int64_t>& v) { return ir::ShapeString(v); }

std::string Join(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// Floor division for a positive divisor (C++ truncates toward zero).
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

Result<Pair> GetPair(const ir::Attributes& a, const std::string& name, std::optional<Pair> def,
                     int64_t min_value) {
  std::optional<std::vector<int64_t>> def_list;
  if (def) def_list = std::vector<int64_t>{(*def)[0], (*def)[1]};
  auto v = a.GetInts(name, def_list);
  if (!v) return MakeError(v.error());
  if (v->size() != 2)
    return MakeError(Errc::kInvalidArgument, "attribute '" + name +
                                                 "' must have 2 values [h,w], got " +
                                                 std::to_string(v->size()) + ": " + Join(*v));
  for (int64_t x : *v)
    if (x < min_value)
      return MakeError(Errc::kInvalidArgument, "attribute '" + name + "' must be >= " +
                                                   std::to_string(min_value) + ", got " + Join(*v));
  return Pair{(*v)[0], (*v)[1]};
}

Result<std::array<double, 2>> GetPositiveFloatPair(const ir::Attributes& a,
                                                   const std::string& name) {
  auto v = a.GetFloats(name);
  if (!v) {
    auto ints = a.GetInts(name);
    if (!ints) return MakeError(v.error());
    v = std::vector<double>(ints->begin(), ints->end());
  }
  if (v->size() != 2)
    return MakeError(Errc::kInvalidArgument, "attribute '" + name +
                                                 "' must have 2 values [h,w], got " +
                                                 std::to_string(v->size()) + ": " + Join(*v));
  for (double x : *v)
    if (!(x > 0))
      return MakeError(Errc::kInvalidArgument,
                       "attribute '" + name + "' must be > 0, got " + Join(*v));
  return std::array<double, 2>{(*v)[0], (*v)[1]};
}

Result<bool> GetFlag(const ir::Attributes& a, const std::string& name, bool def) {
  auto v = a.GetInt(name, def ? 1 : 0);
  if (!v) return MakeError(v.error());
  if (*v != 0 && *v != 1)
    return MakeError(Errc::kInvalidArgument,
                     "attribute '" + name + "' must be 0 or 1, got " + std::to_string(*v));
  return *v == 1;
}

Result<std::string> GetChoice(const ir::Attributes& a, const std::string& name,
                              const std::string& def, std::initializer_list<const char*> allowed) {
  auto v = a.GetString(name, def);
  if (!v) return MakeError(v.error());
  std::string list;
  for (const char* option : allowed) {
    if (*v == option) return *v;
    list += (list.empty() ? "" : ", ") + std::string(option);
  }
  return MakeError(Errc::kInvalidArgument,
                   "attribute '" + name + "' is '" + *v + "', expected one of: " + list);
}

Result<Activation> GetActivation(const ir::Attributes& a, bool allow_relu6) {
  auto v = allow_relu6 ? GetChoice(a, "activation", "none", {"none", "relu", "relu6"})
                       : GetChoice(a, "activation", "none", {"none", "relu"});
  if (!v) return MakeError(v.error());
  if (*v == "relu") return Activation::kRelu;
  if (*v == "relu6") return Activation::kRelu6;
  return Activation::kNone;
}

at::Tensor ApplyActivation(at::Tensor y, Activation act, bool training) {
  // In place saves an allocation per node at inference. Under autograd it would hinge on the
  // producing op not saving its own output for backward (conv, linear and add do not, today);
  // out of place there keeps that from being a silent invariant.
  const bool in_place = !training && !y.requires_grad();
  switch (act) {
    case Activation::kNone:
      return y;
    case Activation::kRelu:
      return in_place ? y.relu_() : at::relu(y);
    case Activation::kRelu6:
      return in_place ? at::hardtanh_(y, 0.0, 6.0) : at::hardtanh(y, 0.0, 6.0);
  }
  return y;
}

Status CheckRank(const ir::Shape& s, size_t rank, const std::string& what, const char* layout) {
  if (s.size() != rank)
    return MakeError(Errc::kShapeMismatch, what + " must be " + std::to_string(rank) + "-D " +
                                               layout + ", got " + ir::ShapeString(s) + " (rank " +
                                               std::to_string(s.size()) + ")");
  return CheckDims(s, what);
}

Status CheckMinRank(const ir::Shape& s, size_t min_rank, const std::string& what) {
  if (s.size() < min_rank)
    return MakeError(Errc::kShapeMismatch, what + " must have rank >= " + std::to_string(min_rank) +
                                               ", got " + ir::ShapeString(s) + " (rank " +
                                               std::to_string(s.size()) + ")");
  return CheckDims(s, what);
}

Status CheckDims(const ir::Shape& s, const std::string& what) {
  for (int64_t d : s)
    if (d < -1)
      return MakeError(Errc::kShapeMismatch, what + " has an invalid dimension " +
                                                 std::to_string(d) + " in " + ir::ShapeString(s) +
                                                 " (dims are >= 0, or -1 for unknown)");
  return {};
}

int64_t DimProduct(const ir::Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) {
    if (!Known(s[i])) return -1;
    p *= s[i];
  }
  return p;
}

Result<size_t> NormalizeDim(int64_t dim, size_t rank, const std::string& attr) {
  const auto r = static_cast<int64_t>(rank);
  if (dim < -r || dim >= r)
    return MakeError(Errc::kInvalidArgument, "attribute '" + attr + "' is " + std::to_string(dim) +
                                                 ", out of range [" + std::to_string(-r) + ", " +
                                                 std::to_string(r - 1) + "] for rank " +
                                                 std::to_string(r));
  return static_cast<size_t>(dim < 0 ? dim + r : dim);
}

const ir::Shape* FindParam(const ir::ParamShapes& params, const std::string& slot) {
  auto it = params.find(slot);
  return it == params.end() ? nullptr : &it->second;
}

Status CheckVectorParam(const ir::ParamShapes& params, const std::string& slot, int64_t channels,
                        const std::string& channels_from) {
  const ir::Shape* p = FindParam(params, slot);
  if (!p) return {};
  if (p->size() != 1 || (Known(channels) && (*p)[0] != channels))
    return MakeError(Errc::kShapeMismatch, slot + " has shape " + ir::ShapeString(*p) +
                                               ", expected [" + std::to_string(channels) + "] (" +
                                               channels_from + ")");
  return {};
}

Result<int64_t> WindowOutput(int64_t in, int64_t kernel, int64_t pad, int64_t stride,
                             int64_t dilation, bool ceil_mode, const char* axis) {
  if (!Known(in)) return int64_t{-1};
  const int64_t span = dilation * (kernel - 1) + 1;
  const int64_t room = in + 2 * pad - span;  // how far the window can slide
  if (!ceil_mode && room < 0)
    return MakeError(Errc::kShapeMismatch,
                     std::string(axis) + ": window of " + std::to_string(span) + " (kernel " +
                         std::to_string(kernel) + ", dilation " + std::to_string(dilation) +
                         ") does not fit the padded input of " + std::to_string(in + 2 * pad) +
                         " (input " + std::to_string(in) + ", padding " + std::to_string(pad) +
                         " each side)");
  int64_t out = FloorDiv(room + (ceil_mode ? stride - 1 : 0), stride) + 1;
  // ATen: in ceil mode the last window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  if (out < 1)
    return MakeError(Errc::kShapeMismatch,
                     std::string(axis) + ": output size " + std::to_string(out) +
                         " is too small (input " + std::to_string(in) + ", kernel " +
                         std::to_string(kernel) + ", padding " + std::to_string(pad) + ", stride " +
                         std::to_string(stride) + ", dilation " + std::to_string(dilation) + ")");
  return out;
}

Result<ir::Shape> SameShapeAsInput(const ir::Node&, const std::vector<ir::Shape>& inputs,
                                   const ir::ParamShapes&) {
  HADMC_TRY(CheckDims(inputs.at(0), "input"));
  return inputs.at(0);
}

int64_t NoMacs(const ir::Node&, const std::vector<ir::Shape>&, const ir::Shape&,
               const ir::ParamShapes&) {
  return 0;
}

ir::OpDef SimpleOp(const std::string& name, ir::ChannelRelation relation) {
  ir::OpDef d;
  d.name = name;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.channel_relation = [relation](const ir::Node&, const ir::ParamShapes&) { return relation; };
  d.infer_shape = SameShapeAsInput;
  d.macs = NoMacs;
  return d;
}

Result<int64_t> GetWeightFakeQuant(const ir::Attributes& a) {
  auto qmax = a.GetInt("fake_quant_weight", 0);
  if (!qmax) return MakeError(qmax.error());
  if (*qmax != 0 && (*qmax < 1 || *qmax > 127))
    return MakeError(Errc::kInvalidArgument,
                     "attribute 'fake_quant_weight' (qmax) must be in [1, 127], got " +
                         std::to_string(*qmax));
  return *qmax;
}

at::Tensor FakeQuantWeight(const at::Tensor& w, int64_t qmax) {
  // The scale follows the weight but is not differentiated (as in PyTorch's observers).
  at::Tensor scale =
      (w.detach().reshape({w.size(0), -1}).abs().amax(1) / static_cast<double>(qmax)).clamp_min(1e-12);
  at::Tensor zero = at::zeros({w.size(0)}, at::TensorOptions().dtype(at::kInt));
  return at::fake_quantize_per_channel_affine(w, scale, zero, 0, -qmax, qmax);
}

}  // namespace hadmc::ops
