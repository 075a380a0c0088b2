#pragma once
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "scenario.h"

namespace ringchat::ringload {

// One scenario option: declared once, used by the command line, the JSON
// scenario file and --help.
// Thread: any; the table is immutable.
struct OptionSpec {
  std::string_view name;   // long flag without "--"; JSON key
  std::string_view alias;  // another long name or "-c"; may be empty
  std::string_view help;
  std::function<Result<void, std::string>(Scenario&, std::string_view)> set;
  bool flag = false;  // takes no value on the command line ("true"/"false" in JSON)
};

std::span<const OptionSpec> option_specs();

}  // namespace ringchat::ringload
