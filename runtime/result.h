// Errors are values inside the runtime: Result<T> holds either a T or an Error (or another
// error type E, such as WASI's error codes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

namespace kiln {

// For the small fast paths that return a Result (a one-byte LEB, a pop of the expected type):
// the compiler otherwise leaves them out of line in large callers such as the validator's step,
// and then every call builds and destroys a Result in memory.
#define KILN_ALWAYS_INLINE [[gnu::always_inline]] inline

// What stage rejected the input. The CLI maps these to distinct exit codes.
enum class ErrorKind : uint8_t {
  kMalformed,   // the binary does not decode (spec 5: binary format)
  kInvalid,     // it decodes but does not validate (spec 3: validation)
  kUnlinkable,  // imports do not match (spec 4.5.4: instantiation, step 3-4)
  kLimit,       // an implementation or embedder limit was hit
  kIo,          // a file could not be read
  kUsage,       // the caller passed something wrong
};

struct Error {
  ErrorKind kind = ErrorKind::kInvalid;
  std::string message;
};

inline const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kMalformed:
      return "malformed module";
    case ErrorKind::kInvalid:
      return "invalid module";
    case ErrorKind::kUnlinkable:
      return "unlinkable module";
    case ErrorKind::kLimit:
      return "limit exceeded";
    case ErrorKind::kIo:
      return "i/o error";
    case ErrorKind::kUsage:
      return "usage error";
  }
  return "error";
}

// Result's storage: the value or the error in one union with a flag, not a std::variant, whose
// visiting destructor and checked get stay out of line in large callers (the validator's loop,
// the decoders); a success then costs the value and the flag, nothing of the Error's string.
[[noreturn]] void result_misused(const char* what);

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  KILN_ALWAYS_INLINE Result(T value) : ok_(true) { ::new (&value_) T(std::move(value)); }
  Result(E error) : ok_(false) { ::new (&error_) E(std::move(error)); }
  Result(const Result& other) : ok_(other.ok_) {
    if (ok_) {
      ::new (&value_) T(other.value_);
    } else {
      ::new (&error_) E(other.error_);
    }
  }
  KILN_ALWAYS_INLINE Result(Result&& other) noexcept : ok_(other.ok_) {
    if (ok_) [[likely]] {
      ::new (&value_) T(std::move(other.value_));
    } else {
      ::new (&error_) E(std::move(other.error_));
    }
  }
  // One assignment for copies and moves: `other` is already this side's own.
  Result& operator=(Result other) noexcept {
    destroy();
    ::new (this) Result(std::move(other));
    return *this;
  }
  KILN_ALWAYS_INLINE ~Result() { destroy(); }

  KILN_ALWAYS_INLINE bool ok() const { return ok_; }
  KILN_ALWAYS_INLINE explicit operator bool() const { return ok_; }
  KILN_ALWAYS_INLINE T& value() {
    if (!ok_) [[unlikely]]
      result_misused("value() of an error");
    return value_;
  }
  KILN_ALWAYS_INLINE const T& value() const {
    if (!ok_) [[unlikely]]
      result_misused("value() of an error");
    return value_;
  }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const E& error() const {
    if (ok_) [[unlikely]]
      result_misused("error() of a success");
    return error_;
  }
  E take_error() {
    if (ok_) [[unlikely]]
      result_misused("take_error() of a success");
    return std::move(error_);
  }

 private:
  KILN_ALWAYS_INLINE void destroy() {
    if (ok_) [[likely]] {
      value_.~T();
    } else {
      error_.~E();
    }
  }

  union {
    T value_;
    E error_;
  };
  bool ok_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  KILN_ALWAYS_INLINE Result() : ok_(true) {}
  Result(E error) : ok_(false) { ::new (&error_) E(std::move(error)); }
  Result(const Result& other) : ok_(other.ok_) {
    if (!ok_) ::new (&error_) E(other.error_);
  }
  KILN_ALWAYS_INLINE Result(Result&& other) noexcept : ok_(other.ok_) {
    if (!ok_) [[unlikely]]
      ::new (&error_) E(std::move(other.error_));
  }
  // One assignment for copies and moves: `other` is already this side's own.
  Result& operator=(Result other) noexcept {
    destroy();
    ::new (this) Result(std::move(other));
    return *this;
  }
  KILN_ALWAYS_INLINE ~Result() { destroy(); }

  KILN_ALWAYS_INLINE bool ok() const { return ok_; }
  KILN_ALWAYS_INLINE explicit operator bool() const { return ok_; }
  const E& error() const {
    if (ok_) [[unlikely]]
      result_misused("error() of a success");
    return error_;
  }
  E take_error() {
    if (ok_) [[unlikely]]
      result_misused("take_error() of a success");
    return std::move(error_);
  }

 private:
  KILN_ALWAYS_INLINE void destroy() {
    if (!ok_) [[unlikely]]
      error_.~E();
  }

  union {
    E error_;
  };
  bool ok_;
};

// Propagates an error from an expression returning Result<...>.
#define KILN_TRY(expr)                                           \
  do {                                                           \
    auto kiln_try_result_ = (expr);                              \
    if (!kiln_try_result_) return kiln_try_result_.take_error(); \
  } while (0)

// Assigns the value of a Result<T> expression to an existing lvalue, or returns its error.
#define KILN_SET(lvalue, expr)                                   \
  do {                                                           \
    auto kiln_set_result_ = (expr);                              \
    if (!kiln_set_result_) return kiln_set_result_.take_error(); \
    lvalue = std::move(kiln_set_result_.value());                \
  } while (0)

// Declares `decl` with the value of a Result<T> expression, or returns its error.
#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)
#define KILN_ASSIGN(decl, expr) KILN_ASSIGN_IMPL(KILN_CONCAT(kiln_res_, __LINE__), decl, expr)
#define KILN_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                      \
  if (!tmp) return tmp.take_error();      \
  decl = std::move(tmp.value())

}  // namespace kiln
