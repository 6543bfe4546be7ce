#include <ATen/Parallel.h>
#include <unistd.h>

#include "commands.h"
#include "hadmc/common/log.h"

namespace hadmc::cli {

void ApplyGlobalOptions(const GlobalOptions& g) {
  if (!SetLogLevel(g.log_level)) Fail("unknown --log-level '" + g.log_level + "'", 2);
  // Debian's LibTorch starts with one intra-op thread on these machines; use every core unless
  // told otherwise.
  int threads = g.threads;
  if (threads <= 0) threads = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (threads <= 0) threads = 1;
  at::set_num_threads(threads);
}

}  // namespace hadmc::cli
