// A small trained base model for the pipeline tests: TinyModel trained 4 epochs on the quadrant
// data set (easy: > 90% accuracy), saved to `dir`/base.hmc, with its train and test sets.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "../train/train_test_util.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/train/trainer.h"

namespace hadmc::compress::testing {

struct TinyBase {
  data::Dataset train, test;
  model::Model model;
  std::string path;
};

inline TinyBase TrainTinyBase(const train::testing::TempDir& dir, uint64_t seed) {
  TinyBase b{train::testing::QuadrantDataset(64, 1), train::testing::QuadrantDataset(16, 2),
             train::testing::TinyModel(seed), dir.File("base.hmc")};
  train::TrainOptions to;
  to.epochs = 4;
  to.lr = 0.05;
  to.batch_size = 32;
  to.warmup_epochs = 0;
  to.val_fraction = 0;
  to.augment = {};
  to.normalization = data::Normalization{{0.2f}, {0.25f}};
  EXPECT_TRUE(train::Train(b.model, b.train, data::Dataset{}, to).has_value());
  EXPECT_TRUE(model::SaveHmc(b.model, b.path).has_value());
  return b;
}

}  // namespace hadmc::compress::testing
