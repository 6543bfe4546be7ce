// Errors cross module boundaries as values: Result<T> = tl::expected<T, Error>.
// An Error carries a std::error_code from the module's category and a human message; each layer
// adds context ("loading model.hmc: tensor 'fc.weight': ...").
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace hadmc {

// Generic error codes shared by the modules of this project.
enum class Errc {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed (bad JSON, bad shape, bad flag)
  kNotFound,         // a file, tensor, op or name that should exist does not
  kParse,            // input bytes do not follow their format
  kCorrupt,          // a file or block failed an integrity check
  kIo,               // the OS refused a read or write
  kUnsupported,      // valid, but this build or device cannot do it
  kShapeMismatch,    // tensor shapes disagree with the graph or each other
  kInternal,         // a bug or an exception from a dependency
  kAlreadyExists,    // the thing to create exists (a published version, a key file)
  kPermissionDenied, // authenticated but not allowed, or not authenticated
};

}  // namespace hadmc

namespace std {
template <>
struct is_error_code_enum<hadmc::Errc> : true_type {};
}  // namespace std

namespace hadmc {

const std::error_category& HadmcCategory();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), HadmcCategory()}; }

class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(Errc code, std::string message) : Error(make_error_code(code), std::move(message)) {}

  const std::error_code& code() const { return code_; }
  const std::string& message() const { return message_; }
  bool Is(Errc e) const { return code_ == make_error_code(e); }

  // Returns a copy whose message is "context: message".
  Error WithContext(const std::string& context) const {
    return Error(code_, context + ": " + message_);
  }
  // "message [category/code-name]"
  std::string String() const;

 private:
  std::error_code code_;
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> MakeError(Errc code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline tl::unexpected<Error> MakeError(Error e) { return tl::unexpected<Error>(std::move(e)); }

// Error from errno, naming what was being done: ErrnoError("open " + path).
Error ErrnoError(const std::string& what);

}  // namespace hadmc

// Propagates an error from an expression returning Result/Status, adding context.
#define HADMC_TRY_CTX(expr, ctx)                                                       \
  do {                                                                                 \
    auto hadmc_try_r_ = (expr);                                                        \
    if (!hadmc_try_r_) return ::tl::unexpected(hadmc_try_r_.error().WithContext(ctx)); \
  } while (0)
#define HADMC_TRY(expr)                                                       \
  do {                                                                        \
    auto hadmc_try_r_ = (expr);                                               \
    if (!hadmc_try_r_) return ::tl::unexpected(std::move(hadmc_try_r_.error())); \
  } while (0)
