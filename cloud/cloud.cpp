// hadmc_cloud: model zoo, data, training and model IO for the `hadmc` CLI. Sources live in the
// subfolders; this file anchors the library so it links while they grow.
namespace hadmc::cloud {
const char* LibraryName() { return "hadmc_cloud"; }
}  // namespace hadmc::cloud
