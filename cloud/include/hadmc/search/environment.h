// The search's environment (AMC / HAQ style): an episode walks the model's conv2d/linear layers
// in graph order; at each layer the controller picks a prune ratio (kPruneRatios) and a bit
// width (kBitWidths), and at the first layer also the fine-tune's distillation temperature and
// alpha (kTemperatures, kAlphas), which are masked to that choice afterwards. Per-step state:
//   LayerFeatures (kLayerFeatures) | progress terms (kProgressFeatures) | HardwareFeatures
// The progress terms: the predicted latency and size of the policy so far with the remaining
// layers left as they are, each over the base's; the previous layer's prune ratio and bits / 32.
//
// The action wall: a choice is legal only if the budget can still be met when every later layer
// takes the most compressing legal choice (the highest allowed ratio, and the fastest precision
// for latency / the fewest bits for size), as the PolicyPredictor sees it. The fastest precision
// is ranked by the predictor on the whole model at each width (boundary kernels and widths the
// target runs as fp32 included), not by the device's peak ops. Each head is masked
// against the other head's most compressing choice; a sampled pair that still misses the budget
// is clamped — the ratio raised first, then the precision made the fastest — and the applied
// choice is what the policy records. Layers that follow a group decided earlier (residual
// branches) have their ratio masked to that decision; frozen layers to 0. When even the most
// compressed policy misses the budget, `budget_reachable()` says so and the wall steps aside
// (every choice legal): forcing the most compressing choice everywhere would evaluate one policy
// over and over, while the reward's penalty still steers towards the budget.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/hal/profile.h"
#include "hadmc/search/policy.h"
#include "hadmc/search/policy_predictor.h"
#include "hadmc/search/ppo.h"
#include "hadmc/search/reward.h"
#include "hadmc/search/search_space.h"

namespace hadmc::search {

inline constexpr int64_t kProgressFeatures = 4;

// The action heads, in this order: prune (10), bits (4), temperature (4), alpha (4).
enum Head : int64_t { kPruneHead = 0, kBitsHead = 1, kTemperatureHead = 2, kAlphaHead = 3 };
std::vector<ActionHead> SearchHeads();

struct EnvironmentOptions {
  Constraints constraints;    // max_latency_ms and max_size_bytes drive the wall
  double max_prune_ratio = 0.8;
  std::vector<int> bits = {4, 8, 16, 32};  // the widths the search may choose (HAQ: all; AMC: {32})
  bool prune = true;          // false: every ratio masked to 0 (HAQ-style, bits only)
  bool distillation = true;   // false: temperature and alpha fixed to the defaults
  bool keep_first_last = true;  // first and last layers keep >= 8 bits
  bool action_wall = true;
};

// Errors name the field.
Status ValidateEnvironmentOptions(const EnvironmentOptions& o);

class SearchEnvironment {
 public:
  // `predictor` must outlive the environment.
  static Result<SearchEnvironment> Create(SearchSpace space, const PolicyPredictor* predictor,
                                          const hal::HardwareProfile& profile,
                                          EnvironmentOptions options);
  SearchEnvironment(SearchEnvironment&&) noexcept;
  SearchEnvironment& operator=(SearchEnvironment&&) noexcept;
  ~SearchEnvironment();

  static int64_t StateDim() { return kLayerFeatures + kProgressFeatures + kHardwareFeatures; }

  // Starts an episode at the first layer.
  Status Reset();
  std::vector<float> State() const;
  const ActionMasks& Masks() const;  // of the current layer
  struct StepResult {
    std::vector<int64_t> applied;  // the actions after the wall's clamp
    bool clamped = false;
    bool done = false;             // that was the last layer: policy() is complete
  };
  // Errors: the episode is over, wrong action count, an index out of range or masked out.
  Result<StepResult> Step(const std::vector<int64_t>& actions);

  int64_t layer() const;  // the current layer index (== layers when done)
  bool done() const;
  const CompressionPolicy& policy() const;  // decisions so far (later layers: ratio 0, 32 bits)
  const SearchSpace& space() const;
  bool budget_reachable() const;  // the most compressed policy meets the budget (predicted)
  // A prior for a controller's first policy (PpoConfig::initial_bias), `strength` >= 0: start
  // near the uncompressed model and on the target's fastest precision. Prune logits
  // -3 x strength x ratio; bits: +strength for the width the target runs fastest (int8 where it
  // has int8 kernels), -strength for 4 bits (PTQ to 4 bits costs the most accuracy).
  std::vector<std::vector<double>> InitialBias(double strength) const;
  // The predicted objectives of the policy so far, later layers untouched / fully compressed.
  Result<PolicyEstimate> PredictCurrent() const;

 private:
  struct Impl;
  explicit SearchEnvironment(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Index of `value` in a choice table (kPruneRatios, ...), or -1.
int64_t RatioIndex(double ratio);
int64_t BitsIndex(int bits);

}  // namespace hadmc::search
