#pragma once
#include <cstdint>

namespace ringchat::testing {

// A loopback TCP port nobody listens on right now (bound to port 0, read
// back, released); 0 if the socket calls fail. Another process may take it
// before the caller binds it.
uint16_t free_port();

}  // namespace ringchat::testing
