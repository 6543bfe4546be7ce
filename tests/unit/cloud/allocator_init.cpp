// The cloud tests train and compress models: give them the allocator settings the CLI uses
// (hal/allocator.h), so the suite runs at the speed a user's commands do.
#include "hadmc/hal/allocator.h"

namespace {
const bool kConfigured = [] { return hadmc::hal::ConfigureAllocator().configured; }();
}  // namespace
