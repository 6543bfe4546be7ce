// Imports PyTorch checkpoints of zoo architectures: the tensors are matched by name against the
// zoo's graph for the arch (its names are torchvision's state_dict keys), so a torchvision model
// traced or scripted in Python becomes a .hmc model without a converter per layer.
//
//   python: torch.jit.trace(torchvision.models.resnet18(num_classes=10).eval(), x).save("m.pt")
//   C++:    auto m = ImportTorchScript("m.pt", "resnet18", {});
#pragma once

#include <optional>
#include <string>

#include "hadmc/common/error.h"
#include "hadmc/model/model.h"

namespace hadmc::zoo {

struct ImportOptions {
  // Nominal H = W of the graph input ([-1, C, S, S]); 0 makes H and W dynamic (-1). Inputs of
  // other sizes are rejected by the executor unless this is 0.
  int64_t input_size = 224;
  // Unset: inferred from the weights where they tell (ResNet: a 3x3 conv1 means the CIFAR stem),
  // false otherwise (MobileNetV2 and VGG differ only in strides and pools, not in weights).
  std::optional<bool> small_input;
  double width_mult = 1.0;  // mobilenet_v2; not inferred
};

// Builds the arch's graph with in_channels (first conv's weight dim 1), num_classes (last
// linear's weight dim 0) and small_input inferred from `tensors`, then takes the tensors by name
// (floating point tensors are converted to float32; "num_batches_tracked" buffers are skipped).
// Errors (kShapeMismatch) list every missing, unexpected and mis-shaped name, up to 20 per kind.
// Metadata: the zoo's (ArchMetadata) for the inferred options.
Result<model::Model> ImportStateDict(const model::TensorMap& tensors, const std::string& arch,
                                     const ImportOptions& options = {});

// Loads a TorchScript module (torch.jit.trace/script + save) and imports its named parameters
// and buffers with ImportStateDict. Adds metadata "source" = "torchscript:<path>". Errors: file
// missing (kNotFound), not a TorchScript archive (kParse), or a mismatch as above.
Result<model::Model> ImportTorchScript(const std::string& path, const std::string& arch,
                                       const ImportOptions& options = {});

}  // namespace hadmc::zoo
