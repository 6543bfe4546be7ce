#include "hadmc/edge/local_api.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hadmc/edge/image_input.h"

namespace hadmc::edge {

using nlohmann::json;

LocalApi::LocalApi(const Runtime& runtime, uint64_t max_body_bytes) : runtime_(runtime) {
  router_.Add("POST", "/v1/infer", max_body_bytes,
              [this](const net::HttpRequest& r, const net::PathParams&) { return Infer(r); });
  router_.Add("GET", "/v1/status", 0,
              [this](const net::HttpRequest&, const net::PathParams&) { return Status(); });
  router_.Add("GET", "/healthz", 0, [this](const net::HttpRequest&, const net::PathParams&) {
    auto m = runtime_.Active();
    net::HttpResponse r;
    r.status = m ? 200 : 503;
    r.body = json{{"ok", m != nullptr}, {"version", m ? m->version : 0}}.dump();
    return r;
  });
  router_.Add("GET", "/metrics", 0,
              [this](const net::HttpRequest&, const net::PathParams&) { return Metrics(); });
  router_.Add("POST", "/v1/rollback", 0, [this](const net::HttpRequest&, const net::PathParams&) {
    std::function<void()> handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      handler = rollback_;
    }
    if (!handler) return net::HttpResponse::Error(501, "no daemon behind this API to roll back");
    handler();
    net::HttpResponse r;
    r.status = 202;
    r.body = json{{"status", "rollback requested"},
                  {"note", "GET /v1/status shows the version served once it is done"}}
                 .dump();
    return r;
  });
  router_.Add("POST", "/v1/profile", 0, [this](const net::HttpRequest&, const net::PathParams&) {
    std::function<std::string()> handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      handler = profile_;
    }
    if (!handler) return net::HttpResponse::Error(501, "no daemon behind this API to profile");
    if (!runtime_.Active()) return net::HttpResponse::Error(409, "no model is loaded yet");
    if (std::string refused = handler(); !refused.empty())
      return net::HttpResponse::Error(409, refused);
    net::HttpResponse r;
    r.status = 202;
    r.body = json{{"status", "profile requested"},
                  {"note", "GET /v1/status shows last_profile once it is done"}}
                 .dump();
    return r;
  });
}

void LocalApi::SetProfileHandler(std::function<std::string()> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  profile_ = std::move(handler);
}

void LocalApi::SetLastProfile(const ProfileStatus& status) {
  std::lock_guard<std::mutex> lock(mu_);
  last_profile_ = status;
}

void LocalApi::SetProfileJobs(uint64_t answered, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_answered_ = answered;
  jobs_error_ = error;
}

void LocalApi::SetLastError(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = message;
}

void LocalApi::SetRollbackHandler(std::function<void()> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  rollback_ = std::move(handler);
}

void LocalApi::SetDaemonStatus(const std::string& state, const std::string& last_sync) {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = state;
  last_sync_ = last_sync;
}

uint64_t LocalApi::BodyLimit(const net::HttpRequest& head) const {
  return router_.BodyLimit(head.method, head.path, 0);
}

net::HttpResponse LocalApi::Handle(const net::HttpRequest& req) { return router_.Dispatch(req); }

namespace {

// A refused request: the HTTP status and the reason.
using Refusal = std::pair<int, std::string>;

// A request's input tensor, [N, ...] as the model's input.
struct Input {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// The media type of a Content-Type value: lower case, without parameters ("; charset=...").
std::string MediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

// {"shape": [N, ...], "data": [...]}: a tensor already preprocessed by the caller. `m` may be
// null (no model yet); a malformed body is still reported as such first.
tl::expected<Input, Refusal> JsonInput(const std::string& body, const LoadedModel* m) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("shape") || !j.contains("data"))
    return tl::unexpected(Refusal{400, "body must be a JSON object with \"shape\" and \"data\""});
  Input in;
  try {
    in.shape = j["shape"].get<std::vector<int64_t>>();
    in.data = j["data"].get<std::vector<float>>();
  } catch (const std::exception&) {
    return tl::unexpected(
        Refusal{400, "\"shape\" must be a list of integers and \"data\" a list of numbers"});
  }
  if (!m) return tl::unexpected(Refusal{503, "no model is loaded yet"});
  const std::vector<int64_t>& shape = in.shape;
  if (shape.size() != m->input_shape.size() || shape.empty() || shape[0] < 1 || shape[0] > 1024)
    return tl::unexpected(Refusal{
        400, "shape must be [N" + std::string(m->input_shape.size() > 1 ? ", ..." : "") +
                 "] like " + ir::ShapeString(m->input_shape) + " with 1 <= N <= 1024"});
  int64_t numel = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d > 0 && shape[d] != m->input_shape[d])
      return tl::unexpected(Refusal{400, "shape " + ir::ShapeString(shape) +
                                             " does not match the model input " +
                                             ir::ShapeString(m->input_shape) + " (any batch)"});
    numel *= shape[d];
  }
  if (static_cast<int64_t>(in.data.size()) != numel)
    return tl::unexpected(Refusal{400, "data has " + std::to_string(in.data.size()) +
                                           " values, shape needs " + std::to_string(numel)});
  return in;
}

// A PNG or JPEG body, preprocessed with the model's own preprocessing (image_input.h): batch 1.
tl::expected<Input, Refusal> ImageInput(const std::string& body, ImageFormat format,
                                        const LoadedModel* m) {
  if (!m) return tl::unexpected(Refusal{503, "no model is loaded yet"});
  const std::string version = "version " + std::to_string(m->version);
  const std::vector<int64_t>& s = m->input_shape;
  if (s.size() != 4 || (s[1] != 1 && s[1] != 3))
    return tl::unexpected(Refusal{422, version + " takes " + ir::ShapeString(s) +
                                           ", not an image [N, 1 or 3, H, W]: send a JSON tensor"});
  if (!m->preprocessing)
    return tl::unexpected(Refusal{
        422, version + " carries no preprocessing (no 'normalization' in its metadata), so an "
                       "image cannot be turned into its input: send a JSON tensor"});
  auto data = ImageToModelInput(body, format, *m->preprocessing, static_cast<int>(s[1]),
                                static_cast<int>(s[2]), static_cast<int>(s[3]));
  if (!data) {
    const int status = data.error().Is(Errc::kParse) ? 400
                       : data.error().Is(Errc::kUnsupported) ? 413 : 500;
    return tl::unexpected(Refusal{status, data.error().message()});
  }
  return Input{{1, s[1], s[2], s[3]}, std::move(*data)};
}

}  // namespace

net::HttpResponse LocalApi::Infer(const net::HttpRequest& req) {
  ++requests_;
  auto fail = [this](int status, const std::string& msg) {
    ++errors_;
    return net::HttpResponse::Error(status, msg);
  };
  auto m = runtime_.Active();  // this request's model
  const std::string type = MediaType(req.Header("content-type"));
  tl::expected<Input, Refusal> in;
  if (type.empty() || type == "application/json") in = JsonInput(req.body, m.get());
  else if (type == "image/png") in = ImageInput(req.body, ImageFormat::kPng, m.get());
  else if (type == "image/jpeg") in = ImageInput(req.body, ImageFormat::kJpeg, m.get());
  else
    return fail(415, "Content-Type '" + type + "' is not supported: send application/json (a "
                     "tensor), image/png or image/jpeg");
  if (!in) return fail(in.error().first, in.error().second);
  const at::Tensor x = at::from_blob(in->data.data(), in->shape, at::kFloat);
  const auto t0 = std::chrono::steady_clock::now();
  Result<at::Tensor> y = Runtime::InferOn(*m, x);  // counted in the model's probation stats
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!y) return fail(500, "inference failed: " + y.error().message());
  size_t b = 0;
  while (b < kBucketsMs.size() && ms > kBucketsMs[b]) ++b;
  ++buckets_[b];
  latency_sum_us_ += static_cast<uint64_t>(ms * 1000);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (recent_ms_.size() < kWindow) recent_ms_.push_back(ms);
    else recent_ms_[recent_next_] = ms;
    recent_next_ = (recent_next_ + 1) % kWindow;
  }
  const at::Tensor out = y->contiguous().to(at::kFloat);
  const float* p = out.data_ptr<float>();
  json body = {{"version", m->version},
               {"shape", out.sizes().vec()},
               {"output", std::vector<float>(p, p + out.numel())},
               {"latency_ms", ms}};
  if (out.dim() == 2) {
    const at::Tensor am = out.argmax(1);
    body["argmax"] = std::vector<int64_t>(am.data_ptr<int64_t>(), am.data_ptr<int64_t>() + am.numel());
  }
  net::HttpResponse r;
  r.body = body.dump();
  return r;
}

std::pair<double, double> LocalApi::RecentLatency() const {
  std::vector<double> v;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = recent_ms_;
  }
  if (v.empty()) return {0, 0};
  std::sort(v.begin(), v.end());
  auto at = [&v](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
  return {at(0.5), at(0.99)};
}

net::HttpResponse LocalApi::Status() const {
  auto m = runtime_.Active();
  std::lock_guard<std::mutex> lock(mu_);
  net::HttpResponse r;
  json profile = nullptr;
  if (last_profile_)
    profile = {{"at", last_profile_->at},
               {"version", last_profile_->version},
               {"kernels", last_profile_->kernels},
               {"e2e_ms", last_profile_->e2e_ms},
               {"error", last_profile_->error}};
  r.body = json{{"version", m ? m->version : 0},
                {"state", state_},
                {"last_sync", last_sync_},
                {"requests", requests_.load()},
                {"errors", errors_.load()},
                {"swaps", runtime_.swaps()},
                {"warm_latency_ms", m ? m->warm_latency_ms : 0.0},
                {"input_shape", m ? m->input_shape : std::vector<int64_t>{}},
                {"last_error", last_error_},
                {"last_profile", std::move(profile)},
                {"profile_jobs", {{"answered", jobs_answered_}, {"error", jobs_error_}}}}
               .dump();
  return r;
}

net::HttpResponse LocalApi::Metrics() const {
  std::ostringstream s;
  s << "# HELP hadmc_edge_requests_total Inference requests.\n# TYPE hadmc_edge_requests_total counter\n"
    << "hadmc_edge_requests_total " << requests_ << "\n"
    << "# HELP hadmc_edge_errors_total Failed inference requests.\n# TYPE hadmc_edge_errors_total counter\n"
    << "hadmc_edge_errors_total " << errors_ << "\n"
    << "# HELP hadmc_edge_inference_seconds Inference latency.\n# TYPE hadmc_edge_inference_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBucketsMs.size(); ++b) {
    cumulative += buckets_[b];
    s << "hadmc_edge_inference_seconds_bucket{le=\"" << kBucketsMs[b] / 1000 << "\"} " << cumulative << "\n";
  }
  cumulative += buckets_[kBucketsMs.size()];
  s << "hadmc_edge_inference_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n"
    << "hadmc_edge_inference_seconds_sum " << static_cast<double>(latency_sum_us_) / 1e6 << "\n"
    << "hadmc_edge_inference_seconds_count " << cumulative << "\n"
    << "# HELP hadmc_edge_sync_bytes_total Block bytes received by sync.\n# TYPE hadmc_edge_sync_bytes_total counter\n"
    << "hadmc_edge_sync_bytes_total " << sync_bytes_ << "\n"
    << "# HELP hadmc_edge_swaps_total Model swaps (activations and rollbacks).\n# TYPE hadmc_edge_swaps_total counter\n"
    << "hadmc_edge_swaps_total " << runtime_.swaps() << "\n"
    << "# HELP hadmc_profile_runs_total Model profiles and profiling jobs reported or failed.\n"
    << "# TYPE hadmc_profile_runs_total counter\n"
    << "hadmc_profile_runs_total{outcome=\"reported\"} " << profile_runs_ << "\n"
    << "hadmc_profile_runs_total{outcome=\"failed\"} " << profile_errors_ << "\n";
  auto m = runtime_.Active();
  s << "# HELP hadmc_edge_model_version Serving model version (0: none).\n# TYPE hadmc_edge_model_version gauge\n"
    << "hadmc_edge_model_version " << (m ? m->version : 0) << "\n";
  net::HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = s.str();
  return r;
}

}  // namespace hadmc::edge
