// The edge runtime's hot swap: checks that keep a bad model out, and swaps under load with no
// failed request.
#include "edge_test_models.h"
#include "hadmc/edge/runtime.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "hadmc/model/hmc_file.h"
#include "hadmc/zoo/zoo.h"

namespace hadmc::edge {
namespace {

// A resnet8 .hmc with weights from `seed` (a NaN classifier with `nan`).
std::string ModelBytes(uint64_t seed, bool nan = false, const std::string& arch = "resnet8") {
  return testing::ZooModelBytes(arch, seed, 0.1, [nan](model::Model& m) {
    if (nan) m.tensors.at("fc.weight").fill_(std::numeric_limits<float>::quiet_NaN());
  });
}

TEST(RuntimeTest, ServesTheActivatedModel) {
  Runtime rt;
  EXPECT_FALSE(rt.Infer(torch::zeros({1, 1, 28, 28})));  // nothing loaded yet
  ASSERT_TRUE(rt.Activate(1, ModelBytes(1)));
  auto active = rt.Active();
  ASSERT_TRUE(active);
  EXPECT_EQ(active->version, 1u);
  EXPECT_EQ(active->output_shape, (std::vector<int64_t>{1, 10}));
  EXPECT_GT(active->warm_latency_ms, 0);
  auto y = rt.Infer(torch::randn({3, 1, 28, 28}));
  ASSERT_TRUE(y) << y.error().String();
  EXPECT_EQ(y->sizes().vec(), (std::vector<int64_t>{3, 10}));
}

TEST(RuntimeTest, ABadCandidateIsNeverServed) {
  Runtime rt;
  ASSERT_TRUE(rt.Activate(1, ModelBytes(1)));
  auto nan = rt.Activate(2, ModelBytes(2, /*nan=*/true));
  ASSERT_FALSE(nan);
  EXPECT_NE(nan.error().message().find("non-finite"), std::string::npos) << nan.error().String();
  auto garbage = rt.Activate(3, std::string(1000, '\x07'));
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message().find("failed to load"), std::string::npos)
      << garbage.error().String();
  std::string truncated = ModelBytes(4);
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(rt.Activate(4, truncated));
  EXPECT_EQ(rt.Active()->version, 1u);  // still the good one
  EXPECT_TRUE(rt.Infer(torch::zeros({1, 1, 28, 28})));
  EXPECT_EQ(rt.swaps(), 1u);
}

TEST(RuntimeTest, ACandidateFarSlowerThanTheServingModelIsRefused) {
  Runtime rt;  // limit 3x; ResNet-18 is about 10x resnet8 at batch 1 (docs/benchmarks.md)
  ASSERT_TRUE(rt.Activate(1, ModelBytes(1)));
  auto slow = rt.Activate(2, ModelBytes(2, false, "resnet18"));
  ASSERT_FALSE(slow);
  EXPECT_NE(slow.error().message().find("too slow"), std::string::npos) << slow.error().String();
  EXPECT_EQ(rt.Active()->version, 1u);
  RuntimeOptions off;
  off.max_latency_ratio = 0;  // the check can be turned off (a deliberate architecture change)
  Runtime rt2(off);
  ASSERT_TRUE(rt2.Activate(1, ModelBytes(1)));
  EXPECT_TRUE(rt2.Activate(2, ModelBytes(2, false, "resnet18")));
}

TEST(RuntimeTest, RollbackAndInFlightRequestsKeepTheirModel) {
  Runtime rt;
  EXPECT_FALSE(rt.Rollback());
  ASSERT_TRUE(rt.Activate(1, ModelBytes(1)));
  std::shared_ptr<const LoadedModel> in_flight = rt.Active();  // a request that started on v1
  std::weak_ptr<const LoadedModel> v1 = in_flight;
  ASSERT_TRUE(rt.Activate(2, ModelBytes(2)));
  ASSERT_TRUE(rt.Activate(3, ModelBytes(3)));
  EXPECT_EQ(rt.Active()->version, 3u);
  // The request still runs on v1 after two swaps; v1 is freed when it lets go.
  EXPECT_TRUE(in_flight->executor.Run(torch::zeros({1, 1, 28, 28}), exec::Mode::kInference));
  in_flight.reset();
  EXPECT_TRUE(v1.expired());
  ASSERT_TRUE(rt.Rollback());
  EXPECT_EQ(rt.Active()->version, 2u);
  ASSERT_TRUE(rt.Rollback());  // and forward again
  EXPECT_EQ(rt.Active()->version, 3u);
}

TEST(RuntimeTest, TwentySwapsUnderLoadFailNoRequest) {
  const std::string a = ModelBytes(1), b = ModelBytes(2);
  RuntimeOptions o;
  o.warmup_runs = 2;
  // Three clients on two cores: latency comparisons mean nothing here (tested above).
  o.max_latency_ratio = 0;
  Runtime rt(o);
  ASSERT_TRUE(rt.Activate(1, a));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&] {
      torch::Tensor x = torch::randn({1, 1, 28, 28});
      while (!stop) {
        auto y = rt.Infer(x);
        (y && y->size(1) == 10 && torch::isfinite(*y).all().item<bool>() ? ok : failed)++;
      }
    });
  for (uint64_t v = 2; v <= 21; ++v) {
    Status st = rt.Activate(v, v % 2 ? a : b);
    ASSERT_TRUE(st) << v << ": " << st.error().String();
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(rt.Active()->version, 21u);
  EXPECT_EQ(rt.swaps(), 21u);
}

}  // namespace
}  // namespace hadmc::edge
