#include "hadmc/store/manifest_diff.h"

#include <set>

namespace hadmc::store {

BlockDiff MissingBlocks(const Manifest& next, const std::function<bool(const std::string&)>& have) {
  BlockDiff d;
  std::set<std::string> seen;
  for (const auto& b : FileBlocks(next)) {
    if (!seen.insert(b.id).second) continue;
    ++d.distinct_blocks;
    if (have(b.id)) {
      d.reused_bytes += b.size;
    } else {
      d.fetch_bytes += b.size;
      d.fetch.push_back(b);
    }
  }
  return d;
}

BlockDiff ManifestDiff(const Manifest& old, const Manifest& next) {
  std::set<std::string> old_ids;
  for (const auto& b : FileBlocks(old)) old_ids.insert(b.id);
  return MissingBlocks(next, [&](const std::string& id) { return old_ids.count(id) > 0; });
}

}  // namespace hadmc::store
