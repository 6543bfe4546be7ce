// Batches of normalized float images from an in-memory Dataset, shuffled per epoch, optionally
// augmented, built ahead of time on a background thread.
//
//   DataLoaderOptions opt;
//   opt.augment.horizontal_flip = true;
//   auto loader = DataLoader::Create(train_set, opt);   // Result<std::unique_ptr<DataLoader>>
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     HADMC_TRY((*loader)->StartEpoch(epoch));
//     while (true) {
//       auto batch = (*loader)->Next();          // Result<std::optional<Batch>>
//       if (!batch) return error;                // a failure while building the batch
//       if (!*batch) break;                      // end of epoch
//       Train((*batch)->images, (*batch)->labels);
//     }
//   }
//
// Reproducibility: the order of epoch e depends only on (seed, e), and the augmentation of batch
// b of epoch e only on (seed, e, b), never on timing or prefetch depth, so a run resumed with
// StartEpoch(e, b) sees exactly the batches the interrupted run would have seen.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "hadmc/common/error.h"
#include "hadmc/data/augment.h"
#include "hadmc/data/dataset.h"
#include "hadmc/data/normalization.h"

namespace hadmc::data {

struct DataLoaderOptions {
  int64_t batch_size = 128;     // > 0
  bool shuffle = true;          // false: dataset order every epoch
  bool drop_last = false;       // drop the final batch when it is smaller than batch_size
  uint64_t seed = 0;            // drives shuffling and augmentation
  AugmentOptions augment;       // off by default (evaluation); turn on for training
  Normalization normalization;  // empty: pixels only scaled to [0, 1]
  int64_t prefetch = 2;         // batches built ahead on a worker thread; 0 = on the caller's
  // Optional last step on the normalized float images (e.g. upsample 28 px Fashion-MNIST to
  // 32 px, or repeat a gray channel three times). Runs on the worker thread; an exception it
  // throws reaches the consumer as an error from Next().
  std::function<at::Tensor(const at::Tensor&)> batch_transform;
};

struct Batch {
  at::Tensor images;   // float [B, C, H, W], normalized
  at::Tensor labels;   // int64 [B]
  at::Tensor indices;  // int64 [B], the samples' positions in the dataset
  int64_t index = 0;   // batch number within the epoch
};

class DataLoader {
 public:
  // Validates the options against the dataset (batch size, normalization channels, padding).
  // The Dataset's tensors are shared, not copied.
  static Result<std::unique_ptr<DataLoader>> Create(Dataset dataset, DataLoaderOptions options);

  // Stops the worker, even mid-epoch, without waiting for the epoch to finish.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t BatchesPerEpoch() const;
  const Dataset& dataset() const;
  const DataLoaderOptions& options() const;

  // Begins epoch `epoch` (>= 0) at batch `first_batch` (0 <= first_batch <= BatchesPerEpoch()),
  // abandoning whatever remains of the current one.
  Status StartEpoch(int64_t epoch, int64_t first_batch = 0);

  // The next batch of the current epoch, std::nullopt after the last one, or the error that
  // building a batch raised (the epoch then ends). Error if no epoch was started. Not for
  // concurrent use by several consumer threads.
  Result<std::optional<Batch>> Next();

 private:
  struct Impl;
  explicit DataLoader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hadmc::data
