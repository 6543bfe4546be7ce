#include "hadmc/compress/store_low_precision.h"

#include <ATen/ATen.h>

#include "hadmc/compress/graph_edit.h"
#include "hadmc/exec/low_precision.h"

namespace hadmc::compress {

Result<LowPrecisionReport> StoreLowPrecision(model::Model& m,
                                             const std::map<std::string, ir::Precision>& plan) {
  LowPrecisionReport report;
  for (const auto& [name, precision] : plan) {
    ir::Node* n = m.graph.FindNode(name);
    if (!n) return MakeError(Errc::kNotFound, "no node '" + name + "' to store at low precision");
    if ((n->op != "conv2d" && n->op != "linear") || n->precision != ir::Precision::kFp32)
      return MakeError(Errc::kInvalidArgument,
                       "node '" + name + "' is " + ir::PrecisionName(n->precision) + " " + n->op +
                           "; only fp32 conv2d and linear weights can be stored in fp16 or int4");
    if (precision != ir::Precision::kFp16 && precision != ir::Precision::kInt4)
      return MakeError(Errc::kInvalidArgument, "node '" + name + "': low-precision storage is "
                                               "fp16 or int4, not " + ir::PrecisionName(precision));
    const std::string weight_name = n->params.at("weight");
    at::Tensor w = m.tensors.at(weight_name).detach();
    report.bytes_before += w.numel() * static_cast<int64_t>(w.element_size());
    if (precision == ir::Precision::kFp16) {
      at::Tensor half = w.to(at::kHalf).contiguous();
      report.bytes_after += half.numel() * 2;
      SetParam(m, weight_name, half);
      report.fp16_nodes.push_back(name);
    } else {
      auto [packed, scale] = exec::QuantizeInt4(w);
      n->attrs.Set("weight_shape", w.sizes().vec());
      const std::string scale_name = name + ".weight_scale";
      n->params["weight_scale"] = scale_name;
      SetParam(m, weight_name, packed);
      SetParam(m, scale_name, scale);
      report.bytes_after += packed.numel() + scale.numel() * 4;
      report.int4_nodes.push_back(name);
    }
    n->precision = precision;
  }
  HADMC_TRY_CTX(model::CheckConsistent(m), "after low-precision storage");
  return report;
}

}  // namespace hadmc::compress
