// How an image becomes a model's input on the edge: the training-time preprocessing the cloud
// recorded in the model's metadata, kept by the runtime next to the loaded model (torch-free).
//
// The cloud trainer writes metadata "normalization" = {"mean": [...], "std": [...]} (per input
// channel, on the [0, 1] pixel scale; cloud/train/model_metadata.cpp SetNormalization) and
// trains on x = (pixel / 255 - mean[c]) / std[c] (cloud/data/normalization.cpp). The edge must
// not link the cloud library, so the parsing is reimplemented here, against that writer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc::edge {

struct Preprocessing {
  std::vector<float> mean;  // per channel on the [0, 1] scale; empty: pixels are only scaled
  std::vector<float> std;   // per channel, > 0; empty with mean
};

// The preprocessing recorded in `metadata`: std::nullopt when the model carries none (no
// "normalization" key: nobody can say what its inputs looked like). A present "normalization"
// that is malformed, or whose length is not the channel count of a 4-D `input_shape`
// ([N, C, H, W]), or has a std that is not positive and finite, is an error.
Result<std::optional<Preprocessing>> PreprocessingFromMetadata(
    const std::map<std::string, std::string>& metadata, const std::vector<int64_t>& input_shape);

}  // namespace hadmc::edge
