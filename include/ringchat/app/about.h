#pragma once
#include <string>

#include "ringchat/app/config.h"

namespace ringchat::app {

// What GET /stats says of the server (chat::ShardConfig::about), one JSON
// object: {"build":{"version","compiler","build_type"}, "config":{every
// option's effective value, secrets masked as in the start event},
// "doctor":{`ringchat doctor --json` for this configuration}}. Doctor's
// checks run here, once, at start (a few ms: sysctls, rlimits, one
// io_uring set up and torn down); their verdicts do not change while the
// server runs, but for sysctls changed meanwhile.
// Thread: the control thread, before the shards start.
std::string about_json(const Config& cfg);

}  // namespace ringchat::app
