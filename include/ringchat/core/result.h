#pragma once
#include <type_traits>
#include <utility>
#include <variant>

namespace ringchat {

// The error half of a Result, spelled at the return site:
// `return Err(CloseCode::kProtocolError);`
template <typename E>
struct Err {
  // A constructor, not only an aggregate: clang before 16 lacks C++20's
  // parenthesized aggregate initialization, which `Err(e)` needs (the fuzz
  // targets are built with clang 14).
  explicit Err(E e) : error(std::move(e)) {}
  E error;
};
template <typename E>
Err(E) -> Err<E>;

// The part of std::expected<T, E> that ringchat needs (C++20 lacks it).
// Failure is a value: no exceptions cross module boundaries.
// Thread: a plain value; whoever holds it.
template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  template <typename F>
  Result(Err<F> err)  // NOLINT
      : v_(std::in_place_index<1>, E(std::move(err.error))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// Result<void, E>: success carries nothing.
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <typename F>
  Result(Err<F> err) : err_(E(std::move(err.error))), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // REQUIRES: !ok().
  const E& error() const { return err_; }

 private:
  E err_{};
  bool ok_ = true;
};

}  // namespace ringchat
