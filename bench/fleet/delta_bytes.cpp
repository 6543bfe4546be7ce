// delta_bytes OLD.hmc NEW.hmc [block_size]: what a device holding OLD must fetch to run NEW
// (ManifestDiff), next to the bytes of the tensors that actually changed and the manifest size.
#include <iostream>
#include <map>

#include "hadmc/common/atomic_file.h"
#include "hadmc/crypto/signing_key.h"
#include "hadmc/store/manifest.h"
#include "hadmc/store/manifest_diff.h"
#include "hadmc/store/model_layout.h"

int main(int argc, char** argv) {
  using namespace hadmc;
  if (argc < 3) {
    std::cerr << "usage: delta_bytes OLD.hmc NEW.hmc [block_size]\n";
    return 2;
  }
  const uint64_t block = argc > 3 ? std::stoull(argv[3]) : store::kDefaultBlockSize;
  auto a = ReadFile(argv[1]), b = ReadFile(argv[2]);
  if (!a || !b) {
    std::cerr << "cannot read the inputs\n";
    return 1;
  }
  auto key = crypto::SigningKey::Generate();
  auto m1 = store::SplitModel(*a, {"m", 1, 0, block, ""});
  auto m2 = store::SplitModel(*b, {"m", 2, 1, block, ""});
  if (!m1 || !m2 || !store::SignManifest(m2->manifest, *key)) {
    std::cerr << "cannot split the inputs\n";
    return 1;
  }
  const store::BlockDiff d = store::ManifestDiff(m1->manifest, m2->manifest);
  // Tensors whose bytes differ between the files, by name.
  auto la = store::ParseModelLayout(*a), lb = store::ParseModelLayout(*b);
  std::map<std::string, std::string_view> old_bytes;
  for (const auto& t : la->tensors)
    old_bytes[t.name] = std::string_view(*a).substr(t.begin, t.end - t.begin);
  uint64_t changed = 0;
  std::string names;
  for (const auto& t : lb->tensors) {
    const auto bytes = std::string_view(*b).substr(t.begin, t.end - t.begin);
    auto it = old_bytes.find(t.name);
    if (it == old_bytes.end() || it->second != bytes) {
      changed += bytes.size();
      names += " " + t.name;
    }
  }
  const bool header_changed =
      std::string_view(*a).substr(0, la->header_size) != std::string_view(*b).substr(0, lb->header_size);
  const uint64_t manifest_bytes = store::ManifestToJson(m2->manifest).size();
  std::cout << "file_bytes " << b->size() << "\n"
            << "changed_tensors" << names << "\n"
            << "changed_tensor_bytes " << changed << "\n"
            << "header_bytes " << lb->header_size << (header_changed ? " (changed)" : " (same)")
            << "\n"
            << "fetch_blocks " << d.fetch.size() << " of " << d.distinct_blocks << "\n"
            << "fetch_bytes " << d.fetch_bytes << "\n"
            << "manifest_bytes " << manifest_bytes << "\n"
            << "fetch_plus_manifest " << d.fetch_bytes + manifest_bytes << "\n";
  return 0;
}
