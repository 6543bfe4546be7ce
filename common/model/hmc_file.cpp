// Saving and loading .hmc files: tensor bytes in and out of LibTorch. The header itself is
// encoded and checked in safetensors_header.cpp.
#include "hadmc/model/hmc_file.h"

#include <ATen/ATen.h>

#include "file_io.h"
#include "safetensors_header.h"

namespace hadmc::model {
namespace {

at::ScalarType ScalarTypeOf(ir::DType d) {
  switch (d) {
    case ir::DType::kF32:
      return at::kFloat;
    case ir::DType::kF16:
      return at::kHalf;
    case ir::DType::kI8:
      return at::kChar;
    case ir::DType::kU8:
      return at::kByte;
    case ir::DType::kI32:
      return at::kInt;
    case ir::DType::kI64:
      return at::kLong;
  }
  return at::kFloat;
}

// A model ready to write: the encoded header, then each tensor as a contiguous CPU tensor in
// buffer order (sorted by name).
struct HmcLayout {
  std::string header;
  std::vector<at::Tensor> data;
  uint64_t data_bytes = 0;
};

Result<HmcLayout> LayOut(const Model& m) {
  // A shallow copy: CheckConsistent may reorder the nodes, the tensors are shared.
  Model checked{m.graph, m.tensors, m.metadata};
  HADMC_TRY(CheckConsistent(checked));
  HmcLayout out;
  std::vector<HmcTensorEntry> entries;
  try {
    for (const auto& [name, t] : checked.tensors) {  // a std::map: sorted by name
      const ir::ParamInfo& info = checked.graph.params.at(name);
      at::Tensor c = t.detach().to(at::kCPU).contiguous();
      const uint64_t bytes = c.nbytes();
      entries.push_back({name, info.dtype, info.shape, out.data_bytes, out.data_bytes + bytes});
      out.data_bytes += bytes;
      out.data.push_back(std::move(c));
    }
  } catch (const std::exception& ex) {
    return MakeError(Errc::kInternal, std::string("reading tensor data: ") + ex.what());
  }
  auto header = detail::EncodeHmcHeader(checked.graph, checked.metadata, entries);
  if (!header) return MakeError(header.error());
  out.header = std::move(*header);
  return out;
}

Result<Model> LoadFrom(const detail::ByteSource& src) {
  auto h = detail::ParseHmcHeaderFrom(src);
  if (!h) return MakeError(h.error());
  Model m;
  m.graph = std::move(h->graph);
  m.metadata = std::move(h->metadata);
  for (const auto& e : h->tensors) {
    at::Tensor t;
    try {
      t = at::empty(e.shape, at::TensorOptions().dtype(ScalarTypeOf(e.dtype)));
    } catch (const std::exception& ex) {
      return MakeError(Errc::kInternal, "tensor '" + e.name + "': cannot allocate " +
                                            std::to_string(e.end - e.begin) +
                                            " bytes: " + ex.what());
    }
    if (e.end > e.begin)
      HADMC_TRY_CTX(src.ReadAt(h->data_offset + e.begin, t.data_ptr(), e.end - e.begin),
                    "tensor '" + e.name + "'");
    m.tensors.emplace(e.name, std::move(t));
  }
  HADMC_TRY(CheckConsistent(m));
  return m;
}

}  // namespace

Result<std::string> SerializeHmc(const Model& m) {
  auto layout = LayOut(m);
  if (!layout) return MakeError(layout.error());
  std::string out;
  out.reserve(layout->header.size() + layout->data_bytes);
  out += layout->header;
  for (const auto& t : layout->data) out.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

Status SaveHmc(const Model& m, const std::string& path) {
  auto layout = LayOut(m);
  if (!layout) return MakeError(layout.error().WithContext("saving " + path));
  std::vector<detail::ByteChunk> chunks{{layout->header.data(), layout->header.size()}};
  for (const auto& t : layout->data) chunks.push_back({t.data_ptr(), t.nbytes()});
  HADMC_TRY_CTX(detail::WriteFileAtomically(path, chunks), "saving " + path);
  return {};
}

Result<Model> ParseHmc(const std::string& bytes, const std::string& what) {
  auto m = LoadFrom(detail::StringSource(bytes));
  if (!m) return MakeError(m.error().WithContext(what));
  return m;
}

Result<Model> LoadHmc(const std::string& path) {
  auto src = detail::FileSource::Open(path);
  if (!src) return MakeError(src.error());
  auto m = LoadFrom(**src);
  if (!m) return MakeError(m.error().WithContext(path));
  return m;
}

}  // namespace hadmc::model
