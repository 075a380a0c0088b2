#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringchat/http/request.h"

namespace ringchat::http {

// A set of methods, as a bitmask over Method. A plain value.
class MethodSet {
 public:
  constexpr MethodSet() = default;
  constexpr MethodSet(std::initializer_list<Method> methods) {
    for (Method m : methods) bits_ |= bit(m);
  }
  constexpr bool has(Method method) const { return (bits_ & bit(method)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr MethodSet operator|(MethodSet other) const { return from_bits(bits_ | other.bits_); }
  constexpr MethodSet& operator|=(MethodSet other) { return *this = *this | other; }
  constexpr bool intersects(MethodSet other) const { return (bits_ & other.bits_) != 0; }
  constexpr bool operator==(const MethodSet&) const = default;

 private:
  static_assert(static_cast<unsigned>(Method::kOther) < 8, "Method must fit the bitmask");
  static constexpr uint8_t bit(Method method) {
    return static_cast<uint8_t>(1u << static_cast<unsigned>(method));
  }
  static constexpr MethodSet from_bits(unsigned bits) {
    MethodSet set;
    set.bits_ = static_cast<uint8_t>(bits);
    return set;
  }
  uint8_t bits_ = 0;
};

// "GET, HEAD, POST": the value of an Allow header (RFC 9110 §10.2.1), methods
// in Method enum order; kOther is never listed. Empty for an empty set.
std::string allow_value(MethodSet methods);

// Values captured by the {name} segments of a pattern, in pattern order. Names
// point into the Router that matched (alive as long as it is); values point
// into the matched path. Fixed capacity, no allocation.
class RouteParams {
 public:
  static constexpr size_t kCapacity = 4;
  // The value captured as `name`; empty if the pattern has no such name.
  std::string_view get(std::string_view name) const;
  size_t size() const { return size_; }
  // REQUIRES: i < size().
  std::string_view name(size_t i) const { return names_[i]; }
  std::string_view value(size_t i) const { return values_[i]; }

 private:
  friend class RouteTable;
  std::array<std::string_view, kCapacity> names_{};
  std::array<std::string_view, kCapacity> values_{};
  size_t size_ = 0;
};

// The method and pattern half of Router, without handlers: routes are known
// by the index add() returned. Router<Handler> is the interface to use.
// Thread: owner only while adding; any once it is no longer modified.
class RouteTable {
 public:
  // Returns the new route's index, counting from 0. See Router::add.
  size_t add(MethodSet methods, std::string_view pattern);
  struct Found {
    int status;    // 200, 404 or 405, as Router::Match::status
    size_t index;  // the route, when status == 200
    RouteParams params;
    MethodSet allowed;
  };
  Found find(Method method, std::string_view path) const;

 private:
  enum class Kind : uint8_t { kLiteral, kParam, kRest };  // precedence order
  struct Segment {
    Kind kind;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    MethodSet methods;  // as added, HEAD not implied
    std::vector<Segment> segments;
  };
  static bool matches(const Route& route, std::string_view path, RouteParams& params);
  static bool same_shape(const Route& a, const Route& b);
  static int compare_precedence(const Route& a, const Route& b);
  std::vector<Route> routes_;
};

// Maps a method and a percent-decoded path to a Handler: any copyable value
// (function pointer, member function pointer, enum). A pure table: no I/O,
// and match() does not allocate. Built at startup; tens of routes.
// Thread: owner only while adding; any once it is no longer modified.
template <typename Handler>
class Router {
 public:
  // Pattern: '/'-separated segments, starting with '/'. A literal segment
  // matches itself exactly; "{name}" matches one non-empty segment; a last
  // segment "{name...}" matches the non-empty rest of the path, '/' included.
  // Only the last segment may be empty ("/", "/docs/"); at most
  // RouteParams::kCapacity parameters, names distinct. HEAD is accepted
  // wherever GET is. Several patterns of one shape (the same literals and
  // parameter positions) may take disjoint method sets.
  // REQUIRES (RC_CHECK): a well-formed pattern; `methods` not empty, without
  // kOther, and disjoint from those of an earlier pattern of the same shape.
  void add(MethodSet methods, std::string_view pattern, Handler handler) {
    table_.add(methods, pattern);  // returns handlers_.size(): indexes count up from 0
    handlers_.push_back(std::move(handler));
  }

  struct Match {
    int status;              // 200: found; 404: no pattern matches the path;
                             // 405: a pattern matches, not this method
    const Handler* handler;  // set when status == 200; valid until the next add()
    RouteParams params;      // set when status == 200
    MethodSet allowed;       // the methods the patterns matching the path take, HEAD listed
                             // when GET is (for 405's Allow); empty for 404
  };

  // `path`: percent-decoded, no query; params point into it. Among the
  // patterns that match the path and take the method, the most specific wins:
  // at the first segment where two differ, literal beats {name} beats
  // {name...}; an explicit HEAD beats GET on one shape. Method::kOther never
  // matches. A trailing slash is significant, and so is an empty segment.
  Match match(Method method, std::string_view path) const {
    RouteTable::Found found = table_.find(method, path);
    return Match{found.status, found.status == 200 ? &handlers_[found.index] : nullptr,
                 found.params, found.allowed};
  }

 private:
  RouteTable table_;
  std::vector<Handler> handlers_;
};

}  // namespace ringchat::http
