// The JSON scenario file: keys are the long flag names, values their text,
// numbers or arrays (joined with ','), plus "phases": [{name, kind,
// duration_s, rate_mult}].
#include <simdjson.h>

#include <cstdio>

#include "scenario.h"

namespace ringchat::ringload {
namespace {

using SetResult = Result<void, std::string>;

Result<std::string, std::string> scalar_text(simdjson::dom::element v) {
  char buf[64];
  switch (v.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(v.get_string().value_unsafe());
    case simdjson::dom::element_type::INT64:
      return std::to_string(v.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return std::to_string(v.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE:
      std::snprintf(buf, sizeof buf, "%.17g", v.get_double().value_unsafe());
      return std::string(buf);
    case simdjson::dom::element_type::BOOL:
      return std::string(v.get_bool().value_unsafe() ? "true" : "false");
    default:
      return Err(std::string("expected a string or number"));
  }
}

Result<std::string, std::string> value_text(simdjson::dom::element v) {
  if (v.type() != simdjson::dom::element_type::ARRAY) return scalar_text(v);
  simdjson::dom::array arr;
  if (v.get_array().get(arr)) return Err(std::string("bad array"));
  std::string joined;
  for (simdjson::dom::element item : arr) {
    auto t = scalar_text(item);
    if (!t) return t;
    if (!joined.empty()) joined.push_back(',');
    joined += *t;
  }
  return joined;
}

Result<PhaseKind, std::string> phase_kind(std::string_view k) {
  for (PhaseKind pk : {PhaseKind::kRamp, PhaseKind::kSteady, PhaseKind::kSpike, PhaseKind::kSoak}) {
    if (to_string(pk) == k) return pk;
  }
  return Err("unknown phase kind: " + std::string(k));
}

Result<Phase, std::string> parse_phase(simdjson::dom::element e) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) return Err(std::string("each phase must be an object"));
  Phase p;
  std::string_view kind = "steady";
  if (o["kind"].get_string().get(kind) == simdjson::INCORRECT_TYPE) {
    return Err(std::string("phase kind must be a string"));
  }
  auto k = phase_kind(kind);
  if (!k) return Err(k.error());
  p.kind = *k;
  std::string_view name;
  if (o["name"].get_string().get(name)) name = kind;
  p.name = std::string(name);
  if (o["duration_s"].get_double().get(p.duration_s) || p.duration_s < 0) {
    return Err("phase '" + p.name + "' needs a non-negative number duration_s");
  }
  p.rate_mult = p.kind == PhaseKind::kSpike ? 3.0 : 1.0;
  simdjson::error_code ec = o["rate_mult"].get_double().get(p.rate_mult);
  if (ec && ec != simdjson::NO_SUCH_FIELD)
    return Err("phase '" + p.name + "': rate_mult must be a number");
  return p;
}

SetResult apply_phases(Scenario& s, simdjson::dom::element v) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr)) return Err(std::string("\"phases\" must be an array"));
  std::vector<Phase> phases;
  for (simdjson::dom::element e : arr) {
    auto p = parse_phase(e);
    if (!p) return Err(p.error());
    phases.push_back(std::move(*p));
  }
  s.explicit_phases = std::move(phases);
  return {};
}

}  // namespace

Result<void, std::string> apply_json(Scenario& s, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto ec = parser.parse(simdjson::padded_string(json)).get(doc)) {
    return Err("scenario JSON: " + std::string(simdjson::error_message(ec)));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return Err(std::string("scenario JSON must be an object"));
  for (auto field : obj) {
    std::string_view key = field.key;
    if (key == "phases") {
      if (auto r = apply_phases(s, field.value); !r) return r;
      continue;
    }
    auto text = value_text(field.value);
    if (!text) return Err("scenario key '" + std::string(key) + "': " + text.error());
    if (auto r = set_option(s, key, *text); !r) return r;
  }
  return {};
}

}  // namespace ringchat::ringload
