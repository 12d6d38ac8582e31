// error.h — the one exception family of gradwork, and the checks that raise it.
//
// Every failure a user can cause (bad shapes, unknown flags, missing files, corrupt
// checkpoints) is a gw::Error with context in its message. Programs catch it at main,
// print one line and exit non-zero (2 for usage errors).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace gw {

/// Base of every error gradwork throws on purpose.
class Error : public std::runtime_error {
 public:
  /// An error whose message is `what`.
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Shapes that do not fit an op (names the op and the shapes).
class ShapeError : public Error { using Error::Error; };
/// A dtype an op does not accept, or two inputs whose dtypes differ.
class DTypeError : public Error { using Error::Error; };
/// A device that is not available (CUDA without a GPU) or inputs on different devices.
class DeviceError : public Error { using Error::Error; };
/// A file that is missing, unreadable, unwritable or corrupt.
class IoError : public Error { using Error::Error; };
/// Bad command-line input or configuration; programs exit with status 2.
class UsageError : public Error { using Error::Error; };

/// Thrown by a lab stub that the student has not filled in yet.
/// The message always starts with "not implemented: lab NN".
class NotImplemented : public Error { using Error::Error; };

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// What GW_TODO calls: throws NotImplemented. The arguments after `what` are the variables
/// the missing code will use; naming them here keeps an untouched stub free of
/// "unused parameter" warnings.
template <typename... Uses>
[[noreturn]] void not_implemented(const char* what, const Uses&...) {
  throw NotImplemented(std::string("not implemented: ") + what);
}
}  // namespace detail

}  // namespace gw

/// Throws `ErrorType` with the streamed message when `cond` is false.
/// Usage: GW_CHECK_AS(gw::ShapeError, a == b, "add: shapes ", sa, " and ", sb, " differ");
#define GW_CHECK_AS(ErrorType, cond, ...)                          \
  do {                                                             \
    if (!(cond)) throw ErrorType(::gw::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Throws gw::Error with the streamed message when `cond` is false.
#define GW_CHECK(cond, ...) GW_CHECK_AS(::gw::Error, cond, __VA_ARGS__)

/// Marks the part of a lab the student writes: GW_TODO("lab NN: what to write", uses...)
/// throws gw::NotImplemented with "not implemented: lab NN: what to write". The optional
/// `uses` name the parameters that the missing code reads.
#define GW_TODO(...) ::gw::detail::not_implemented(__VA_ARGS__)
