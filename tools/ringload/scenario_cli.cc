// The command line: CLI11 over the option table. CLI11 reports errors by
// throwing; they are caught here and become an error value.
#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "scenario.h"
#include "scenario_options.h"

namespace ringchat::ringload {
namespace {

// Finds --scenario FILE / --scenario=FILE before the real parse, so the
// file's values become defaults that the other flags override.
std::string find_scenario_path(int argc, const char* const* argv) {
  constexpr std::string_view kFlag = "--scenario";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == kFlag && i + 1 < argc) return argv[i + 1];
    if (a.starts_with("--scenario=")) return std::string(a.substr(kFlag.size() + 1));
  }
  return {};
}

Result<void, std::string> load_scenario_file(Scenario& s, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Err("cannot read scenario file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return apply_json(s, buf.str());
}

std::string flag_names(const OptionSpec& o) {
  std::string names = "--" + std::string(o.name);
  if (o.alias.starts_with("-")) return std::string(o.alias) + "," + names;
  if (!o.alias.empty()) names += ",--" + std::string(o.alias);
  return names;
}

}  // namespace

Result<Scenario, std::string> parse_args(int argc, const char* const* argv) {
  Scenario s;
  const std::string path = find_scenario_path(argc, argv);
  if (!path.empty()) {
    if (auto r = load_scenario_file(s, path); !r) return Err(r.error());
  }
  CLI::App app{"ringload: io_uring WebSocket load generator for /ws/{room} servers"};
  std::string ignored_path;
  app.add_option("--scenario", ignored_path, "JSON scenario file (flags override it)");
  std::vector<std::string> errors;
  for (const OptionSpec& o : option_specs()) {
    if (o.flag) {
      app.add_flag_function(
          flag_names(o),
          [&s, &errors, &o](int64_t n) {
            if (auto r = o.set(s, n > 0 ? "true" : "false"); !r) errors.push_back(r.error());
          },
          std::string(o.help));
      continue;
    }
    app.add_option_function<std::string>(
        flag_names(o),
        [&s, &errors, &o](const std::string& v) {
          if (auto r = o.set(s, v); !r) errors.push_back(r.error());
        },
        std::string(o.help));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return Err(rc == 0 ? std::string() : std::string(e.what()));
  }
  if (!errors.empty()) return Err(errors.front());
  if (auto r = validate(s); !r) return Err(r.error());
  return s;
}

}  // namespace ringchat::ringload
