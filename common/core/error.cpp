#include "hadmc/common/error.h"

#include <cerrno>
#include <cstring>

namespace hadmc {
namespace {

class HadmcErrorCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "hadmc"; }
  std::string message(int code) const override {
    switch (static_cast<Errc>(code)) {
      case Errc::kOk: return "ok";
      case Errc::kInvalidArgument: return "invalid argument";
      case Errc::kNotFound: return "not found";
      case Errc::kParse: return "parse error";
      case Errc::kCorrupt: return "corrupt data";
      case Errc::kIo: return "i/o error";
      case Errc::kUnsupported: return "unsupported";
      case Errc::kShapeMismatch: return "shape mismatch";
      case Errc::kInternal: return "internal error";
      case Errc::kAlreadyExists: return "already exists";
      case Errc::kPermissionDenied: return "permission denied";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& HadmcCategory() {
  static const HadmcErrorCategory category;
  return category;
}

std::string Error::String() const {
  return message_ + " [" + code_.category().name() + ": " + code_.message() + "]";
}

Error ErrnoError(const std::string& what) {
  const int err = errno;
  return Error(std::error_code(err, std::generic_category()), what + ": " + std::strerror(err));
}

}  // namespace hadmc
