#include "hadmc/hal/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace hadmc::hal {
namespace {

TEST(AllocatorTest, ConfiguresGlibcThresholdsOnceAndReportsThem) {
  const bool env_set = std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
                       std::getenv("HADMC_MALLOC");
  AllocatorSettings s = ConfigureAllocator();
#if defined(__GLIBC__)
  if (!env_set) {
    EXPECT_TRUE(s.configured) << s.note;
    EXPECT_EQ(s.mmap_threshold, size_t{32} << 20);
    EXPECT_EQ(s.trim_threshold, size_t{1} << 30);
  }
#endif
  EXPECT_FALSE(s.note.empty());
  // A second call changes nothing and the current settings say the same.
  AllocatorSettings again = ConfigureAllocator();
  EXPECT_EQ(again.configured, s.configured);
  EXPECT_EQ(CurrentAllocatorSettings().note, s.note);
  // Memory still works: a big block (above the old 128 KiB threshold) is usable and freed.
  void* p = std::malloc(size_t{16} << 20);
  ASSERT_NE(p, nullptr);
  static_cast<char*>(p)[(size_t{16} << 20) - 1] = 1;
  std::free(p);
}

}  // namespace
}  // namespace hadmc::hal
