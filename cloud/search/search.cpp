#include "hadmc/search/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>

#include "hadmc/common/atomic_file.h"
#include "hadmc/train/progress.h"

namespace hadmc::search {

Result<ControllerKind> ParseController(const std::string& s) {
  if (s == "ppo") return ControllerKind::kPpo;
  if (s == "dqn") return ControllerKind::kDqn;
  if (s == "random") return ControllerKind::kRandom;
  return MakeError(Errc::kInvalidArgument,
                   "unknown controller '" + s + "' (expected ppo, dqn or random)");
}

const char* ControllerName(ControllerKind k) {
  switch (k) {
    case ControllerKind::kPpo: return "ppo";
    case ControllerKind::kDqn: return "dqn";
    case ControllerKind::kRandom: return "random";
  }
  return "?";
}

Status ValidateSearchOptions(const SearchOptions& o) {
  if (o.episodes < 1) return MakeError(Errc::kInvalidArgument, "episodes must be >= 1");
  if (o.rollout_episodes < 1)
    return MakeError(Errc::kInvalidArgument, "rollout_episodes must be >= 1");
  if (!(o.prior >= 0 && o.prior < 100)) return MakeError(Errc::kInvalidArgument, "prior must be in [0, 100)");
  HADMC_TRY(ValidateReward(o.constraints, o.weights));
  if (o.controller == ControllerKind::kPpo) HADMC_TRY(ValidatePpoConfig(o.ppo));
  if (o.controller == ControllerKind::kDqn) HADMC_TRY(ValidateDqnConfig(o.dqn));
  return {};
}

// ---- JSON ---------------------------------------------------------------------------------

namespace {

nlohmann::json ObjectivesJson(const Objectives& o) {
  return {{"accuracy", o.accuracy},
          {"latency_ms", o.latency_ms},
          {"size_bytes", o.size_bytes},
          {"energy_mj", o.energy_mj}};
}

template <typename T>
Result<T> Field(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key))
    return MakeError(Errc::kParse, std::string("missing field '") + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    return MakeError(Errc::kParse, std::string("field '") + key + "' has the wrong type");
  }
}

Result<Objectives> ObjectivesFromJson(const nlohmann::json& j) {
  Objectives o;
  auto a = Field<double>(j, "accuracy");
  auto l = Field<double>(j, "latency_ms");
  auto s = Field<double>(j, "size_bytes");
  auto e = Field<double>(j, "energy_mj");
  for (const auto* r : {&a, &l, &s, &e})
    if (!*r) return MakeError(r->error().WithContext("objectives"));
  o.accuracy = *a;
  o.latency_ms = *l;
  o.size_bytes = *s;
  o.energy_mj = *e;
  return o;
}

}  // namespace

nlohmann::json ToJson(const Evaluation& e) {
  return {{"policy_hash", e.policy_hash},
          {"objectives", ObjectivesJson(e.objectives)},
          {"latency_estimated", e.latency_estimated},
          {"lut", {{"exact", e.lut_exact}, {"neighbour", e.lut_neighbour}, {"roofline", e.lut_roofline}}},
          {"energy_measured", e.energy_measured},
          {"per_layer", e.per_layer},
          {"seconds", e.seconds},
          {"cached", e.cached}};
}

Result<Evaluation> EvaluationFromJson(const nlohmann::json& j) {
  Evaluation e;
  auto hash = Field<std::string>(j, "policy_hash");
  if (!hash) return MakeError(hash.error());
  e.policy_hash = *hash;
  if (!j.contains("objectives")) return MakeError(Errc::kParse, "missing field 'objectives'");
  auto o = ObjectivesFromJson(j.at("objectives"));
  if (!o) return MakeError(o.error());
  e.objectives = *o;
  e.proxy_accuracy = o->accuracy;
  e.latency_estimated = j.value("latency_estimated", false);
  if (j.contains("lut") && j.at("lut").is_object()) {
    e.lut_exact = j.at("lut").value("exact", 0);
    e.lut_neighbour = j.at("lut").value("neighbour", 0);
    e.lut_roofline = j.at("lut").value("roofline", 0);
  }
  e.energy_measured = j.value("energy_measured", false);
  e.per_layer = j.value("per_layer", nlohmann::json::array());
  e.seconds = j.value("seconds", 0.0);
  e.cached = j.value("cached", false);
  return e;
}

nlohmann::json ToJson(const EpisodeRecord& r) {
  return {{"episode", r.episode},
          {"policy", ToJson(r.policy)},
          {"evaluation", ToJson(r.evaluation)},
          {"reward", ToJson(r.reward)},
          {"clamped_steps", r.clamped_steps}};
}

Result<EpisodeRecord> EpisodeRecordFromJson(const nlohmann::json& j) {
  EpisodeRecord r;
  auto episode = Field<int64_t>(j, "episode");
  if (!episode) return MakeError(episode.error());
  r.episode = *episode;
  const std::string where = "episode " + std::to_string(r.episode);
  if (!j.contains("policy") || !j.contains("evaluation") || !j.contains("reward"))
    return MakeError(Errc::kParse, where + ": needs policy, evaluation and reward");
  auto p = PolicyFromJson(j.at("policy"));
  if (!p) return MakeError(p.error().WithContext(where));
  r.policy = *p;
  auto e = EvaluationFromJson(j.at("evaluation"));
  if (!e) return MakeError(e.error().WithContext(where));
  r.evaluation = *e;
  const nlohmann::json& rw = j.at("reward");
  auto total = Field<double>(rw, "total");
  if (!total) return MakeError(total.error().WithContext(where + " reward"));
  r.reward.total = *total;
  r.reward.accuracy = rw.value("accuracy", 0.0);
  r.reward.latency = rw.value("latency", 0.0);
  r.reward.energy = rw.value("energy", 0.0);
  r.reward.size = rw.value("size", 0.0);
  r.reward.penalty = rw.value("penalty", 0.0);
  r.reward.bonus = rw.value("bonus", 0.0);
  r.reward.violated = rw.value("violated", std::vector<std::string>{});
  r.clamped_steps = j.value("clamped_steps", 0);
  return r;
}

nlohmann::json ToJson(const SearchResult& r) {
  nlohmann::json episodes = nlohmann::json::array();
  for (const EpisodeRecord& e : r.history) episodes.push_back(ToJson(e));
  return {{"controller", r.controller},
          {"base", ToJson(r.base)},
          {"best", r.best},
          {"best_feasible", r.best_feasible},
          {"budget_reachable", r.budget_reachable},
          {"resumed_at", r.resumed_at},
          {"seconds", r.seconds},
          {"episodes", episodes},
          {"pareto", r.archive.ToJson()},
          {"updates", r.updates}};
}

// ---- The loop -----------------------------------------------------------------------------

namespace {

// One controller behind one interface: act on a step, see the step's outcome, learn at the end
// of an episode or rollout, save and load.
class Controller {
 public:
  virtual ~Controller() = default;
  virtual Result<std::vector<int64_t>> Act(const std::vector<float>& state, const ActionMasks& m) = 0;
  // The step just taken: `applied` are the actions after the wall's clamp.
  virtual Status Observe(const std::vector<int64_t>& applied, double reward, bool done,
                         const std::vector<float>& next_state, const ActionMasks& next_masks) = 0;
  // After each episode; returns update stats when it learned (PPO at rollout ends).
  virtual Result<std::optional<nlohmann::json>> EndEpisode(int64_t episodes_done, bool last) = 0;
  virtual Status Save(const std::string& path) const = 0;
  virtual Status Load(const std::string& path) = 0;
  virtual void BeginEpisode(int64_t /*episode*/) {}
};

class PpoController : public Controller {
 public:
  PpoController(PpoAgent agent, int64_t rollout) : agent_(std::move(agent)), rollout_(rollout) {}
  Result<std::vector<int64_t>> Act(const std::vector<float>& state, const ActionMasks& m) override {
    auto d = agent_.Act(state, m);
    if (!d) return MakeError(d.error());
    Transition t;
    t.state = state;
    t.masks = m;
    t.actions = d->actions;
    t.log_prob = d->log_prob;
    t.value = d->value;
    buffer_.push_back(std::move(t));
    return d->actions;
  }
  Status Observe(const std::vector<int64_t>&, double reward, bool done, const std::vector<float>&,
                 const ActionMasks&) override {
    // The sampled actions stay in the transition (their log-probability was taken under the
    // masks); the clamp is part of the environment's dynamics.
    buffer_.back().reward = reward;
    buffer_.back().done = done;
    return {};
  }
  Result<std::optional<nlohmann::json>> EndEpisode(int64_t episodes_done, bool last) override {
    if (episodes_done % rollout_ != 0 && !last) return std::optional<nlohmann::json>{};
    auto stats = agent_.Update(buffer_, 0.0);
    buffer_.clear();
    if (!stats) return MakeError(stats.error());
    return std::optional<nlohmann::json>(nlohmann::json{
        {"episodes", episodes_done},          {"policy_loss", stats->policy_loss},
        {"value_loss", stats->value_loss},    {"entropy", stats->entropy},
        {"clip_fraction", stats->clip_fraction}, {"approx_kl", stats->approx_kl},
        {"explained_variance", stats->explained_variance}, {"epochs_run", stats->epochs_run}});
  }
  Status Save(const std::string& path) const override { return agent_.Save(path); }
  Status Load(const std::string& path) override { return agent_.Load(path); }

 private:
  PpoAgent agent_;
  int64_t rollout_;
  std::vector<Transition> buffer_;
};

class DqnController : public Controller {
 public:
  DqnController(DqnAgent agent, int64_t report_every)
      : agent_(std::move(agent)), report_every_(report_every) {}
  Result<std::vector<int64_t>> Act(const std::vector<float>& state, const ActionMasks& m) override {
    state_ = state;
    masks_ = m;
    return agent_.Act(state, m);
  }
  Status Observe(const std::vector<int64_t>& applied, double reward, bool done,
                 const std::vector<float>& next_state, const ActionMasks& next_masks) override {
    DqnTransition t;
    t.state = state_;
    t.masks = masks_;
    t.actions = applied;  // Q-learning learns from what happened
    t.reward = reward;
    t.next_state = next_state;
    t.next_masks = next_masks;
    t.done = done;
    HADMC_TRY(agent_.Observe(std::move(t)));
    auto stats = agent_.Train();
    if (!stats) return MakeError(stats.error());
    if (stats->trained) {
      loss_sum_ += stats->loss;
      q_sum_ += stats->mean_q;
      ++trained_;
      steps_ = stats->gradient_steps;
    }
    return {};
  }
  Result<std::optional<nlohmann::json>> EndEpisode(int64_t episodes_done, bool last) override {
    if ((episodes_done % report_every_ != 0 && !last) || trained_ == 0)
      return std::optional<nlohmann::json>{};
    nlohmann::json j = {{"episodes", episodes_done},
                        {"loss", loss_sum_ / static_cast<double>(trained_)},
                        {"mean_q", q_sum_ / static_cast<double>(trained_)},
                        {"epsilon", agent_.epsilon()},
                        {"gradient_steps", steps_}};
    loss_sum_ = q_sum_ = 0;
    trained_ = 0;
    return std::optional<nlohmann::json>(j);
  }
  Status Save(const std::string& path) const override { return agent_.Save(path); }
  Status Load(const std::string& path) override { return agent_.Load(path); }

 private:
  DqnAgent agent_;
  int64_t report_every_;
  std::vector<float> state_;
  ActionMasks masks_;
  double loss_sum_ = 0, q_sum_ = 0;
  int64_t trained_ = 0, steps_ = 0;
};

class RandomController : public Controller {
 public:
  explicit RandomController(uint64_t seed) : seed_(seed) {}
  void BeginEpisode(int64_t episode) override {
    // Seeded per episode, so a resumed search draws what the uninterrupted one would.
    rng_.seed(seed_ * 1000003ULL + static_cast<uint64_t>(episode));
  }
  Result<std::vector<int64_t>> Act(const std::vector<float>&, const ActionMasks& m) override {
    std::vector<int64_t> a;
    for (const auto& mask : m) {
      std::vector<int64_t> legal;
      for (size_t k = 0; k < mask.size(); ++k)
        if (mask[k]) legal.push_back(static_cast<int64_t>(k));
      if (legal.empty()) return MakeError(Errc::kInternal, "a head with no legal choice");
      a.push_back(legal[std::uniform_int_distribution<size_t>(0, legal.size() - 1)(rng_)]);
    }
    return a;
  }
  Status Observe(const std::vector<int64_t>&, double, bool, const std::vector<float>&,
                 const ActionMasks&) override {
    return {};
  }
  Result<std::optional<nlohmann::json>> EndEpisode(int64_t, bool) override {
    return std::optional<nlohmann::json>{};
  }
  Status Save(const std::string&) const override { return {}; }
  Status Load(const std::string&) override { return {}; }

 private:
  uint64_t seed_;
  std::mt19937_64 rng_;
};

Result<std::unique_ptr<Controller>> MakeController(const SearchOptions& o,
                                                   const SearchEnvironment& env) {
  const int64_t dim = SearchEnvironment::StateDim();
  switch (o.controller) {
    case ControllerKind::kPpo: {
      PpoConfig c = o.ppo;
      c.seed = o.seed;
      if (o.prior > 0 && c.initial_bias.empty()) c.initial_bias = env.InitialBias(o.prior);
      auto agent = PpoAgent::Create(dim, SearchHeads(), c);
      if (!agent) return MakeError(agent.error());
      return std::unique_ptr<Controller>(new PpoController(std::move(*agent), o.rollout_episodes));
    }
    case ControllerKind::kDqn: {
      DqnConfig c = o.dqn;
      c.seed = o.seed;
      auto agent = DqnAgent::Create(dim, SearchHeads(), c);
      if (!agent) return MakeError(agent.error());
      return std::unique_ptr<Controller>(new DqnController(std::move(*agent), o.rollout_episodes));
    }
    case ControllerKind::kRandom:
      return std::unique_ptr<Controller>(new RandomController(o.seed));
  }
  return MakeError(Errc::kInternal, "unknown controller");
}

bool Better(const EpisodeRecord& a, bool a_feasible, const EpisodeRecord& b, bool b_feasible) {
  if (a_feasible != b_feasible) return a_feasible;
  return a.reward.total > b.reward.total;
}

void UpdateBest(SearchResult& r) {
  const EpisodeRecord& last = r.history.back();
  const bool feasible = last.reward.feasible();
  if (r.best < 0 || Better(last, feasible, r.best_record(), r.best_feasible)) {
    r.best = static_cast<int64_t>(r.history.size()) - 1;
    r.best_feasible = feasible;
  }
}

std::string StatePath(const std::string& dir) { return dir + "/search_state.json"; }
std::string AgentPath(const std::string& dir) { return dir + "/agent.pt"; }

Status SaveCheckpoint(const SearchOptions& o, const SearchResult& r, const Controller& c) {
  std::error_code ec;
  std::filesystem::create_directories(o.checkpoint_dir, ec);
  if (ec) return MakeError(Errc::kIo, "creating " + o.checkpoint_dir + ": " + ec.message());
  HADMC_TRY(c.Save(AgentPath(o.checkpoint_dir)));
  nlohmann::json j = ToJson(r);
  j["seed"] = o.seed;
  j["rollout_episodes"] = o.rollout_episodes;
  j["constraints"] = ToJson(o.constraints);
  return WriteFileAtomically(StatePath(o.checkpoint_dir), j.dump());
}

// Loads a checkpoint into `r` and the controller; false when there is none.
Result<bool> LoadCheckpoint(const SearchOptions& o, SearchResult& r, Controller& c,
                            size_t layers) {
  if (o.checkpoint_dir.empty() || !std::filesystem::exists(StatePath(o.checkpoint_dir)))
    return false;
  const std::string path = StatePath(o.checkpoint_dir);
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return MakeError(Errc::kCorrupt, path + ": not a JSON object");
  if (j.value("controller", "") != r.controller || j.value("seed", uint64_t{0}) != o.seed ||
      j.value("rollout_episodes", int64_t{0}) != o.rollout_episodes ||
      j.value("constraints", nlohmann::json()) != ToJson(o.constraints))
    return MakeError(Errc::kInvalidArgument,
                     path + ": a checkpoint of another search (controller " +
                         j.value("controller", std::string("?")) + ", seed " +
                         std::to_string(j.value("seed", uint64_t{0})) +
                         ", constraints " + j.value("constraints", nlohmann::json()).dump() +
                         "); use another --work directory or delete it");
  for (const auto& e : j.value("episodes", nlohmann::json::array())) {
    auto rec = EpisodeRecordFromJson(e);
    if (!rec) return MakeError(rec.error().WithContext(path));
    if (rec->policy.layers.size() != layers)
      return MakeError(Errc::kInvalidArgument, path + ": a checkpoint of another model");
    r.history.push_back(std::move(*rec));
    UpdateBest(r);
  }
  auto archive = ParetoArchive::FromJson(j.value("pareto", nlohmann::json::object()));
  if (!archive) return MakeError(archive.error().WithContext(path));
  r.archive = std::move(*archive);
  r.updates = j.value("updates", std::vector<nlohmann::json>{});
  HADMC_TRY_CTX(c.Load(AgentPath(o.checkpoint_dir)), "resuming the controller");
  r.resumed_at = static_cast<int64_t>(r.history.size());
  return true;
}

std::string Percent(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v * 100 << "%";
  return s.str();
}

void PrintEpisode(std::ostream& out, const SearchResult& r, int64_t total, double per_episode) {
  const EpisodeRecord& e = r.history.back();
  const EpisodeRecord& b = r.best_record();
  const Objectives& o = e.evaluation.objectives;
  int64_t feasible = 0;
  for (const auto& h : r.history) feasible += h.reward.feasible();
  out << std::fixed << std::setprecision(3) << "episode " << e.episode + 1 << "/" << total
      << "  reward " << e.reward.total << (e.reward.feasible() ? "" : " (violates)")
      << "  acc " << Percent(o.accuracy) << "  lat " << o.latency_ms << " ms  size "
      << std::setprecision(1) << o.size_bytes / 1024.0 << " KiB" << std::setprecision(3)
      << (e.evaluation.cached ? "  [cached]" : "") << "  | best " << b.reward.total << " (ep "
      << b.episode + 1 << ")  feasible " << feasible << "/" << r.history.size() << "  front "
      << r.archive.size() << "  " << std::setprecision(1) << per_episode << " s/ep  ETA "
      << train::FormatDuration(per_episode * static_cast<double>(total - e.episode - 1)) << "\n";
  out.flush();
}

// Evaluates rec.policy and rewards it against r.base, entering it into r.archive.
Status Score(PolicyEvaluator& evaluator, const SearchOptions& o, SearchResult& r,
             EpisodeRecord& rec) {
  auto eval = evaluator.Evaluate(rec.policy);
  if (!eval)
    return MakeError(eval.error().WithContext("evaluating episode " +
                                              std::to_string(rec.episode + 1) + ", policy " +
                                              ToJson(rec.policy).dump()));
  rec.evaluation = *eval;
  ParetoPoint point;
  point.objectives = eval->objectives;
  point.policy_hash = eval->policy_hash;
  point.payload = {{"episode", rec.episode}, {"policy", ToJson(rec.policy)}};
  const bool entered = r.archive.Insert(std::move(point));
  rec.reward = ComputeReward(eval->objectives, r.base.objectives, o.constraints, o.weights, entered);
  return {};
}

}  // namespace

Result<SearchResult> EvaluatePolicies(PolicyEvaluator& evaluator,
                                      const std::vector<CompressionPolicy>& policies,
                                      const SearchOptions& o, const std::string& name) {
  HADMC_TRY(ValidateReward(o.constraints, o.weights));
  const auto start = std::chrono::steady_clock::now();
  SearchResult r;
  r.controller = name;
  auto base = evaluator.EvaluateBase();
  if (!base) return MakeError(base.error().WithContext("evaluating the base model"));
  r.base = *base;
  for (const CompressionPolicy& p : policies) {
    EpisodeRecord rec;
    rec.episode = static_cast<int64_t>(r.history.size());
    rec.policy = p;
    HADMC_TRY(Score(evaluator, o, r, rec));
    r.history.push_back(std::move(rec));
    UpdateBest(r);
    if (o.progress) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      PrintEpisode(*o.progress, r, static_cast<int64_t>(policies.size()),
                   elapsed / static_cast<double>(r.history.size()));
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

Result<std::optional<Constraints>> CheckpointConstraints(const std::string& dir) {
  const std::string path = StatePath(dir);
  if (dir.empty() || !std::filesystem::exists(path)) return std::optional<Constraints>{};
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("constraints"))
    return MakeError(Errc::kCorrupt, path + ": no constraints recorded");
  auto c = ConstraintsFromJson(j.at("constraints"));
  if (!c) return MakeError(c.error().WithContext(path));
  return std::optional<Constraints>(*c);
}

Result<SearchResult> RunSearch(PolicyEvaluator& evaluator, SearchEnvironment& env,
                               const SearchOptions& o) {
  HADMC_TRY(ValidateSearchOptions(o));
  const auto start = std::chrono::steady_clock::now();
  SearchResult r;
  r.controller = ControllerName(o.controller);
  r.budget_reachable = env.budget_reachable();
  auto base = evaluator.EvaluateBase();
  if (!base) return MakeError(base.error().WithContext("evaluating the base model"));
  r.base = *base;
  auto controller = MakeController(o, env);
  if (!controller) return MakeError(controller.error());
  Controller& c = **controller;
  auto resumed = LoadCheckpoint(o, r, c, env.space().layers.size());
  if (!resumed) return MakeError(resumed.error());
  if (o.progress) {
    *o.progress << "search: " << r.controller << ", " << o.episodes << " episodes over "
                << env.space().layers.size() << " layers; base proxy accuracy "
                << Percent(r.base.objectives.accuracy) << ", latency " << r.base.objectives.latency_ms
                << " ms (" << (r.base.latency_estimated ? "some kernels roofline-estimated" : "LUT")
                << ")\n";
    if (!r.budget_reachable)
      *o.progress << "warning: the budget cannot be met even by the most compressed policy "
                     "(predicted); the action wall is off and the reward's penalty steers towards it\n";
    if (*resumed)
      *o.progress << "resuming at episode " << r.resumed_at + 1 << " from " << o.checkpoint_dir
                  << "\n";
  }

  for (int64_t episode = r.resumed_at; episode < o.episodes; ++episode) {
    c.BeginEpisode(episode);
    HADMC_TRY(env.Reset());
    EpisodeRecord rec;
    rec.episode = episode;
    std::vector<float> state = env.State();
    while (!env.done()) {
      const ActionMasks masks = env.Masks();
      auto actions = c.Act(state, masks);
      if (!actions) return MakeError(actions.error().WithContext("episode " + std::to_string(episode + 1)));
      auto step = env.Step(*actions);
      if (!step) return MakeError(step.error().WithContext("episode " + std::to_string(episode + 1)));
      rec.clamped_steps += step->clamped;
      if (step->done) {
        rec.policy = env.policy();
        HADMC_TRY(Score(evaluator, o, r, rec));
      }
      const std::vector<float> next = env.done() ? state : env.State();
      HADMC_TRY(c.Observe(step->applied, step->done ? rec.reward.total : 0.0, step->done, next,
                          env.Masks()));
      state = next;
    }
    r.history.push_back(std::move(rec));
    UpdateBest(r);
    auto learned = c.EndEpisode(episode + 1, episode + 1 == o.episodes);
    if (!learned) return MakeError(learned.error());
    if (*learned) {
      r.updates.push_back(**learned);
      if (o.progress && o.controller == ControllerKind::kPpo) {
        const auto& u = **learned;
        *o.progress << std::setprecision(4) << "  ppo update: policy loss " << u["policy_loss"].get<double>()
                    << ", value loss " << u["value_loss"].get<double>() << ", entropy "
                    << u["entropy"].get<double>() << ", clip fraction "
                    << u["clip_fraction"].get<double>() << ", approx KL "
                    << u["approx_kl"].get<double>() << "\n";
      }
    }
    if (!o.checkpoint_dir.empty() && ((episode + 1) % o.rollout_episodes == 0 || episode + 1 == o.episodes))
      HADMC_TRY_CTX(SaveCheckpoint(o, r, c), "checkpoint");
    if (o.progress) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      PrintEpisode(*o.progress, r, o.episodes,
                   elapsed / static_cast<double>(episode + 1 - r.resumed_at));
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace hadmc::search
