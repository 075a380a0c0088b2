#include "ringchat/app/about.h"

#include <cstdlib>

#include "ringchat/app/doctor.h"

#ifndef RINGCHAT_VERSION
#define RINGCHAT_VERSION "unknown"
#endif
#ifndef RINGCHAT_BUILD_TYPE
#define RINGCHAT_BUILD_TYPE "unknown"
#endif

namespace ringchat::app {

namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out += doctor::json_escape(s);
  out += '"';
  return out;
}

std::string compiler() {
#if defined(__clang__)
  std::string v = "clang ";
  return v += __clang_version__;
#elif defined(__GNUC__)
  std::string v = "gcc ";
  return v += __VERSION__;
#else
  return "unknown";
#endif
}

// A setting as the start event writes it: numbers and booleans bare.
std::string value_json(const Config::Setting& s) {
  using Kind = Config::Setting::Kind;
  if (s.kind == Kind::kBool) return s.value == "true" ? "true" : "false";
  if (s.kind == Kind::kNumber) {
    char* end = nullptr;
    std::strtoll(s.value.c_str(), &end, 10);
    if (!s.value.empty() && *end == '\0') return s.value;
  }
  return quoted(s.value);
}

}  // namespace

std::string about_json(const Config& cfg) {
  // (Appends, not `"literal" + std::string`: GCC 12 warns wrongly on those.)
  std::string out = "{\"build\":{\"version\":";
  out += quoted(RINGCHAT_VERSION);
  out += ",\"compiler\":";
  out += quoted(compiler());
  out += ",\"build_type\":";
  out += quoted(RINGCHAT_BUILD_TYPE);
  out += "},\"config\":{";
  bool first = true;
  for (const Config::Setting& s : cfg.settings) {
    if (!first) out += ',';
    first = false;
    out += quoted(s.name);
    out += ':';
    out += value_json(s);
  }
  out += "},\"doctor\":";
  const doctor::Facts facts = doctor::gather();
  const doctor::Needs needs = doctor::needs_for(cfg, facts, 0);
  std::string d = doctor::to_json(facts, needs, doctor::evaluate(facts, needs));
  while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
  out += d;
  out += '}';
  return out;
}

}  // namespace ringchat::app
