#include "hadmc/data/data_loader.h"

#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "hadmc/common/log.h"
#include "hadmc/hal/threads.h"

namespace hadmc::data {
namespace {

// Domain tags so the shuffle and augmentation streams never coincide.
constexpr uint64_t kShuffleStream = 0x5348554646ULL;  // "SHUFF"
constexpr uint64_t kAugmentStream = 0x4155474dULL;    // "AUGM"

// The sample order of one epoch: identity, or a Fisher-Yates permutation seeded by
// (seed, epoch) with a portable generator, so it is the same on every platform.
at::Tensor EpochOrder(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  at::Tensor order = torch::arange(n, torch::kLong);
  if (!shuffle) return order;
  int64_t* p = order.data_ptr<int64_t>();
  std::mt19937_64 rng(MixSeed(seed, kShuffleStream, static_cast<uint64_t>(epoch)));
  for (int64_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % static_cast<uint64_t>(i)]);
  return order;
}

}  // namespace

struct DataLoader::Impl {
  Dataset dataset;
  DataLoaderOptions options;
  int64_t batches_per_epoch = 0;

  // The current epoch; written only by StartEpoch while no worker runs.
  bool started = false;
  int64_t epoch = 0;
  at::Tensor order;
  int64_t next_batch = 0;  // synchronous mode only

  // Prefetch queue shared with the worker.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Result<Batch>> queue;
  bool stop = false;
  bool worker_done = false;
  std::thread worker;

  // Builds batch `b` of the current epoch. Pure: reads only the dataset, options and order, so
  // the worker and the consumer may call it concurrently with nothing but the arguments.
  Result<Batch> MakeBatch(int64_t b) const {
    try {
      const int64_t n = dataset.size();
      const int64_t begin = b * options.batch_size;
      const int64_t len = std::min(options.batch_size, n - begin);
      Batch batch;
      batch.index = b;
      batch.indices = order.narrow(0, begin, len);
      at::Tensor images = dataset.images.index_select(0, batch.indices);
      if (options.augment.enabled()) {
        const uint64_t seed = MixSeed(options.seed ^ kAugmentStream, static_cast<uint64_t>(epoch),
                                      static_cast<uint64_t>(b));
        images = AugmentBatch(images, options.augment, seed);
      }
      batch.images = NormalizeImages(images, options.normalization);
      if (options.batch_transform) batch.images = options.batch_transform(batch.images);
      batch.labels = dataset.labels.index_select(0, batch.indices);
      return batch;
    } catch (const std::exception& e) {
      return MakeError(Errc::kInternal, "building batch " + std::to_string(b) + " of epoch " +
                                            std::to_string(epoch) + ": " + e.what());
    } catch (...) {
      return MakeError(Errc::kInternal, "building batch " + std::to_string(b) + ": unknown error");
    }
  }

  void RunWorker(int64_t first_batch) {
    // The batch's tensor ops (gather, normalize) would start an OpenMP team of their own on
    // this thread, which then fights the training threads for the same cores: resnet8 steps
    // took 145 ms instead of 127 (docs/benchmarks.md, "Adaptive sparse training").
    hal::UseOneTorchThreadHere();
    for (int64_t b = first_batch; b < batches_per_epoch; ++b) {
      Result<Batch> batch = MakeBatch(b);
      const bool failed = !batch.has_value();
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || static_cast<int64_t>(queue.size()) < options.prefetch; });
      if (stop) return;
      queue.push_back(std::move(batch));
      cv.notify_all();
      if (failed) break;  // the consumer gets the error; nothing after it is meaningful
    }
    std::lock_guard<std::mutex> lock(mu);
    worker_done = true;
    cv.notify_all();
  }

  void StopWorker() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      cv.notify_all();
    }
    if (worker.joinable()) worker.join();
    queue.clear();
    stop = false;
    worker_done = false;
  }
};

DataLoader::DataLoader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DataLoader::~DataLoader() { impl_->StopWorker(); }

Result<std::unique_ptr<DataLoader>> DataLoader::Create(Dataset dataset, DataLoaderOptions options) {
  HADMC_TRY_CTX(ValidateDataset(dataset), "creating data loader");
  if (options.batch_size <= 0) {
    return MakeError(Errc::kInvalidArgument,
                     "batch size must be positive, got " + std::to_string(options.batch_size));
  }
  if (options.prefetch < 0) {
    return MakeError(Errc::kInvalidArgument,
                     "prefetch depth must be >= 0, got " + std::to_string(options.prefetch));
  }
  if (options.augment.crop_padding < 0) {
    return MakeError(Errc::kInvalidArgument, "crop padding must be >= 0, got " +
                                                 std::to_string(options.augment.crop_padding));
  }
  HADMC_TRY_CTX(ValidateNormalization(options.normalization, dataset.channels()),
                "creating data loader");
  auto impl = std::make_unique<Impl>();
  const int64_t n = dataset.size();
  impl->batches_per_epoch = options.drop_last ? n / options.batch_size
                                              : (n + options.batch_size - 1) / options.batch_size;
  impl->dataset = std::move(dataset);
  impl->options = std::move(options);
  return std::unique_ptr<DataLoader>(new DataLoader(std::move(impl)));
}

int64_t DataLoader::BatchesPerEpoch() const { return impl_->batches_per_epoch; }
const Dataset& DataLoader::dataset() const { return impl_->dataset; }
const DataLoaderOptions& DataLoader::options() const { return impl_->options; }

Status DataLoader::StartEpoch(int64_t epoch, int64_t first_batch) {
  if (epoch < 0 || first_batch < 0 || first_batch > impl_->batches_per_epoch) {
    return MakeError(Errc::kInvalidArgument, "cannot start epoch " + std::to_string(epoch) +
                                                 " at batch " + std::to_string(first_batch) +
                                                 " of " + std::to_string(impl_->batches_per_epoch));
  }
  impl_->StopWorker();
  try {
    impl_->order =
        EpochOrder(impl_->dataset.size(), impl_->options.shuffle, impl_->options.seed, epoch);
  } catch (const std::exception& e) {
    return MakeError(Errc::kInternal, std::string("shuffling: ") + e.what());
  }
  impl_->epoch = epoch;
  impl_->next_batch = first_batch;
  impl_->started = true;
  if (impl_->options.prefetch > 0) {
    try {
      impl_->worker =
          std::thread([impl = impl_.get(), first_batch] { impl->RunWorker(first_batch); });
    } catch (const std::system_error& e) {
      Log().warn("data loader: cannot start prefetch thread ({}); building batches inline",
                 e.what());
      impl_->options.prefetch = 0;
    }
  }
  return {};
}

Result<std::optional<Batch>> DataLoader::Next() {
  Impl& s = *impl_;
  if (!s.started) return MakeError(Errc::kInvalidArgument, "DataLoader::Next before StartEpoch");
  if (s.options.prefetch == 0) {
    if (s.next_batch >= s.batches_per_epoch) return std::optional<Batch>();
    auto batch = s.MakeBatch(s.next_batch);
    if (!batch) {
      s.next_batch = s.batches_per_epoch;
      return tl::unexpected(batch.error());
    }
    ++s.next_batch;
    return std::optional<Batch>(std::move(*batch));
  }
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&] { return !s.queue.empty() || s.worker_done; });
  if (s.queue.empty()) return std::optional<Batch>();
  Result<Batch> batch = std::move(s.queue.front());
  s.queue.pop_front();
  s.cv.notify_all();
  if (!batch) return tl::unexpected(batch.error());
  return std::optional<Batch>(std::move(*batch));
}

}  // namespace hadmc::data
