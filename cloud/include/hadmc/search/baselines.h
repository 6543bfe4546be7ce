// The methods a search experiment compares, all in one harness: the same evaluator (proxy
// accuracy, LUT latency, size, energy), the same reward and constraints, the same number of
// evaluations at most.
//   hadmc2      PPO over prune ratio + bits + distillation settings, with the action wall
//   dqn         the same environment with a branching double-DQN controller
//   random      uniform among the wall's legal choices
//   amc         AMC-style: PPO over prune ratios only (every layer fp32), with the wall
//   haq         HAQ-style: PPO over bit widths only (no pruning), with the wall
//   uniform     uniform L1-norm pruning + int8 PTQ: every ratio 0..max, one policy each
//   hadmc1      HAD-MC 1.0's heuristic pipeline: Taylor-sensitivity-scaled per-layer ratios
//               (the least sensitive groups lose the most), int8 everywhere but the first and
//               last layers, swept over the overall ratio
// The learning methods get `episodes` evaluations; the two sweeps need at most 10.
#pragma once

#include <string>
#include <vector>

#include "hadmc/common/error.h"
#include "hadmc/search/search.h"
#include "hadmc/search/search_setup.h"

namespace hadmc::search {

enum class Method { kHadmc2, kDqn, kRandom, kAmc, kHaq, kUniform, kHadmc1 };
const std::vector<Method>& AllMethods();
const char* MethodName(Method m);
const char* MethodDescription(Method m);
Result<Method> ParseMethod(const std::string& s);  // the names above

// `options` carries the episodes, seed, weights and progress; its controller and constraints
// are set here (constraints from the setup). `env` is the hadmc2 environment's options; the
// method narrows it (amc: bits {32}; haq: no pruning). Checkpoints are not used.
Result<SearchResult> RunMethod(Method m, SearchSetup& setup, SearchOptions options,
                               EnvironmentOptions env);

// The sweeps' policies (exposed for tests).
std::vector<CompressionPolicy> UniformPolicies(const SearchSpace& s, double max_ratio, int bits);
std::vector<CompressionPolicy> Hadmc1Policies(const SearchSpace& s, double max_ratio);

}  // namespace hadmc::search
