#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scenario.h"

namespace ringchat::ringload {

// Who is where: each client's room and whether it sends. Deterministic for a
// given scenario and seed, so A/B runs against two servers are identical.
// Thread: built by main before the workers start; read-only after.
struct Plan {
  std::vector<uint32_t> room;             // per client
  std::vector<uint8_t> sender;            // per client: 1 if it publishes
  std::vector<uint32_t> senders_in_room;  // per room
  std::vector<uint32_t> members_in_room;  // per room
  // --ports: per client, the index of the port it connects to: its rank
  // among its room's members, round-robin (echo: the client id), so every
  // room with more members than ports spans all of them and so do its
  // senders. Empty without --ports.
  std::vector<uint32_t> port;
  // sse: each sender also has an HTTP publisher connection, apart from its
  // stream. Connections in all = clients + publishers.
  uint32_t publishers = 0;

  std::string room_name(const Scenario& s, uint32_t client) const;
};

Plan build_plan(const Scenario& s);

}  // namespace ringchat::ringload
