#include "plan.h"

#include <cmath>
#include <random>

namespace ringchat::ringload {
namespace {

uint32_t room_count(const Scenario& s) { return s.mode == Mode::kEcho ? s.connections : s.rooms; }

// Zipf over [0, rooms): room k has weight 1 / (k+1)^s.
std::vector<uint32_t> zipf_rooms(const Scenario& s) {
  std::vector<double> w(s.rooms);
  for (uint32_t k = 0; k < s.rooms; ++k) w[k] = 1.0 / std::pow(k + 1.0, s.zipf_s);
  std::discrete_distribution<uint32_t> dist(w.begin(), w.end());
  std::mt19937_64 rng(s.seed);
  std::vector<uint32_t> out(s.connections);
  for (auto& r : out) r = dist(rng);
  return out;
}

}  // namespace

Plan build_plan(const Scenario& s) {
  Plan p;
  const uint32_t rooms = room_count(s);
  p.members_in_room.assign(rooms, 0);
  p.senders_in_room.assign(rooms, 0);
  if (s.mode != Mode::kEcho && s.room_dist == RoomDist::kZipf) {
    p.room = zipf_rooms(s);
  } else {
    p.room.resize(s.connections);
    for (uint32_t c = 0; c < s.connections; ++c) p.room[c] = c % rooms;
  }
  p.sender.assign(s.connections, 0);
  if (!s.ports.empty()) p.port.assign(s.connections, 0);
  for (uint32_t c = 0; c < s.connections; ++c) {
    const uint32_t r = p.room[c];
    const uint32_t rank = p.members_in_room[r]++;
    if (!p.port.empty())
      p.port[c] = (s.mode == Mode::kEcho ? c : rank) % static_cast<uint32_t>(s.ports.size());
    bool sends = false;
    switch (s.mode) {
      case Mode::kEcho:
        sends = true;
        break;
      case Mode::kFanout:
        sends = s.senders == 0 || rank < s.senders;
        break;
      case Mode::kRate:
        sends = s.senders == 0 || c < s.senders;
        break;
      case Mode::kIdle:
      case Mode::kHandshake:
        sends = false;
        break;
    }
    p.sender[c] = sends ? 1 : 0;
    if (sends) ++p.senders_in_room[r];
    if (sends && s.protocol == Protocol::kSse) ++p.publishers;
  }
  return p;
}

std::string Plan::room_name(const Scenario& s, uint32_t client) const {
  return s.room_prefix + "-" + std::to_string(room[client]);
}

}  // namespace ringchat::ringload
