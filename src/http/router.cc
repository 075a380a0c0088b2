#include "ringchat/http/router.h"

#include <algorithm>

#include "ringchat/core/check.h"

namespace ringchat::http {
namespace {

// The methods a route takes: RFC 9110 §9.3.2, a server that answers GET
// answers HEAD the same way, without the body.
MethodSet effective(MethodSet methods) {
  return methods.has(Method::kGet) ? methods | MethodSet{Method::kHead} : methods;
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::string allow_value(MethodSet methods) {
  std::string out;
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kOptions}) {
    if (!methods.has(m)) continue;
    if (!out.empty()) out += ", ";
    out += to_string(m);
  }
  return out;
}

std::string_view RouteParams::get(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    if (names_[i] == name) return values_[i];
  }
  return {};
}

size_t RouteTable::add(MethodSet methods, std::string_view pattern) {
  RC_CHECK(!methods.empty());
  RC_CHECK(!methods.has(Method::kOther));
  RC_CHECK(pattern.starts_with('/'));
  Route route{methods, {}};
  size_t params = 0;
  std::string_view rest = pattern.substr(1);
  for (bool last = false; !last;) {
    size_t slash = rest.find('/');
    last = slash == std::string_view::npos;
    std::string_view seg = rest.substr(0, slash);
    rest = last ? std::string_view() : rest.substr(slash + 1);
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      Kind kind = Kind::kParam;
      if (name.ends_with("...")) {
        name.remove_suffix(3);
        kind = Kind::kRest;
        RC_CHECK(last);  // "{name...}" takes the rest, so nothing may follow it
      }
      RC_CHECK(valid_name(name));
      for (const Segment& s : route.segments) RC_CHECK(s.kind == Kind::kLiteral || s.text != name);
      RC_CHECK(++params <= RouteParams::kCapacity);
      route.segments.push_back({kind, std::string(name)});
    } else {
      RC_CHECK(seg.find_first_of("{}") == std::string_view::npos);
      // An empty segment only at the end: "/" and "/docs/", never "/a//b".
      RC_CHECK(!seg.empty() || last);
      route.segments.push_back({Kind::kLiteral, std::string(seg)});
    }
  }
  // Same shape, overlapping methods: the later pattern could never match.
  for (const Route& other : routes_) {
    RC_CHECK(!same_shape(route, other) || !route.methods.intersects(other.methods));
  }
  // Segment strings live in each route's own vector, whose buffer moves with
  // the route when routes_ grows, so names handed out in RouteParams stay put.
  routes_.push_back(std::move(route));
  return routes_.size() - 1;
}

RouteTable::Found RouteTable::find(Method method, std::string_view path) const {
  Found found{404, 0, {}, {}};
  // Only origin-form paths route; "*" (OPTIONS *) and the like are 404.
  if (!path.starts_with('/')) return found;
  const Route* best = nullptr;
  bool best_exact = false;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& route = routes_[i];
    RouteParams params;
    if (!matches(route, path, params)) continue;
    MethodSet takes = effective(route.methods);
    found.allowed |= takes;
    if (method == Method::kOther || !takes.has(method)) continue;
    // On one shape an explicit HEAD route beats the GET route HEAD falls to.
    bool exact = route.methods.has(method);
    int order = best == nullptr ? -1 : compare_precedence(route, *best);
    if (order < 0 || (order == 0 && exact && !best_exact)) {
      best = &route;
      best_exact = exact;
      found.index = i;
      found.params = params;
    }
  }
  if (best != nullptr) {
    found.status = 200;
  } else if (!found.allowed.empty()) {
    found.status = 405;
  }
  return found;
}

bool RouteTable::matches(const Route& route, std::string_view path, RouteParams& params) {
  // REQUIRES: path starts with '/'. Each step takes the segment at `pos` up
  // to the next '/' or the end.
  size_t pos = 1;
  for (size_t i = 0; i < route.segments.size(); ++i) {
    const Segment& seg = route.segments[i];
    if (seg.kind == Kind::kRest) {
      std::string_view value = path.substr(pos);
      if (value.empty()) return false;
      params.names_[params.size_] = seg.text;
      params.values_[params.size_++] = value;
      return true;
    }
    size_t end = std::min(path.find('/', pos), path.size());
    std::string_view value = path.substr(pos, end - pos);
    if (seg.kind == Kind::kLiteral) {
      if (value != seg.text) return false;
    } else {
      if (value.empty()) return false;
      params.names_[params.size_] = seg.text;
      params.values_[params.size_++] = value;
    }
    bool path_done = end == path.size();
    if (i + 1 == route.segments.size()) return path_done;
    if (path_done) return false;
    pos = end + 1;
  }
  return false;  // not reached: a pattern has at least one segment
}

bool RouteTable::same_shape(const Route& a, const Route& b) {
  if (a.segments.size() != b.segments.size()) return false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const Segment& x = a.segments[i];
    const Segment& y = b.segments[i];
    if (x.kind != y.kind) return false;
    if (x.kind == Kind::kLiteral && x.text != y.text) return false;
  }
  return true;
}

int RouteTable::compare_precedence(const Route& a, const Route& b) {
  // Both matched one path, so where their kinds agree their literals are
  // equal, and they have as many segments unless one ends in a rest.
  size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    Kind x = a.segments[i].kind;
    Kind y = b.segments[i].kind;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace ringchat::http
