// Loading a TorchScript archive with LibTorch's JIT and handing its tensors to ImportStateDict.
// The only file of the project that includes <torch/script.h>.
#include "hadmc/zoo/torchscript_import.h"

#include <torch/script.h>

#include <filesystem>
#include <system_error>

namespace hadmc::zoo {
namespace {

std::string FirstLine(std::string s) {
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

Result<model::TensorMap> LoadTorchScriptTensors(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return MakeError(Errc::kNotFound, "'" + path + "': no such file");
  model::TensorMap tensors;
  try {
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    for (const auto& p : module.named_parameters(/*recurse=*/true)) tensors[p.name] = p.value;
    for (const auto& b : module.named_buffers(/*recurse=*/true)) tensors[b.name] = b.value;
  } catch (const c10::Error& e) {
    return MakeError(Errc::kParse,
                     "'" + path +
                         "' is not a TorchScript module (save one from Python with "
                         "torch.jit.trace(model.eval(), example).save(path) or torch.jit.script; a "
                         "torch.save() checkpoint is not TorchScript): " +
                         FirstLine(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return MakeError(Errc::kParse, "'" + path + "': loading TorchScript: " + FirstLine(e.what()));
  }
  if (tensors.empty())
    return MakeError(Errc::kInvalidArgument, "'" + path + "' holds no parameters or buffers");
  return tensors;
}

}  // namespace

Result<model::Model> ImportTorchScript(const std::string& path, const std::string& arch,
                                       const ImportOptions& options) {
  auto tensors = LoadTorchScriptTensors(path);
  if (!tensors) return MakeError(tensors.error().WithContext("importing " + arch));
  auto m = ImportStateDict(*tensors, arch, options);
  if (!m) return MakeError(m.error().WithContext("importing '" + path + "' as " + arch));
  m->metadata["source"] = "torchscript:" + path;
  return m;
}

}  // namespace hadmc::zoo
