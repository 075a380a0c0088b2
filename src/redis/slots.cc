#include "ringchat/redis/slots.h"

#include <charconv>

namespace ringchat::redis {

uint16_t crc16(std::string_view bytes) {
  // Bit by bit: keys are short, and a table would be 512 bytes of constants
  // for no measurable gain on a per-publish cost dominated by the round trip.
  uint16_t crc = 0;
  for (char ch : bytes) {
    crc ^= static_cast<uint16_t>(static_cast<unsigned char>(ch) << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

uint16_t key_slot(std::string_view key) {
  // Redis Cluster spec, "Hash tags".
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) & (kSlots - 1);
}

std::string NodeAddr::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<NodeAddr> parse_node_addr(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
    return std::nullopt;
  }
  return NodeAddr{std::string(host), static_cast<uint16_t>(p)};
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const size_t sp = error.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(error.data(), error.data() + sp, slot);
  if (ec != std::errc() || end != error.data() + sp || slot >= kSlots) return std::nullopt;
  auto to = parse_node_addr(error.substr(sp + 1));
  if (!to) return std::nullopt;
  r.slot = static_cast<uint16_t>(slot);
  r.to = std::move(*to);
  return r;
}

SlotMap::SlotMap() : owner_(kSlots, 0) {}

void SlotMap::clear() {
  nodes_.clear();
  owner_.assign(kSlots, 0);
}

uint16_t SlotMap::index_of(const NodeAddr& n) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i] == n) return static_cast<uint16_t>(i + 1);
  }
  nodes_.push_back(n);
  return static_cast<uint16_t>(nodes_.size());
}

bool SlotMap::parse(const Reply& r, std::string_view answered_by_host) {
  if (r.type() != ReplyType::kArray) return false;
  SlotMap next;
  for (size_t i = 0; i < r.size(); ++i) {
    const Reply range = r[i];
    if (range.type() != ReplyType::kArray || range.size() < 3) return false;
    const Reply master = range[2];
    if (range[0].type() != ReplyType::kInteger || range[1].type() != ReplyType::kInteger ||
        master.type() != ReplyType::kArray || master.size() < 2 ||
        master[1].type() != ReplyType::kInteger) {
      return false;
    }
    const int64_t start = range[0].integer(), end = range[1].integer(), port = master[1].integer();
    if (start < 0 || end < start || end >= kSlots || port <= 0 || port > 65535) return false;
    NodeAddr n{std::string(master[0].str()), static_cast<uint16_t>(port)};
    if (n.host.empty() || n.host == "?") n.host = std::string(answered_by_host);
    const uint16_t idx = next.index_of(n);
    for (int64_t s = start; s <= end; ++s) next.owner_[static_cast<size_t>(s)] = idx;
  }
  *this = std::move(next);
  return true;
}

const NodeAddr* SlotMap::owner(uint16_t slot) const {
  const uint16_t idx = owner_[slot & (kSlots - 1)];
  return idx ? &nodes_[idx - 1] : nullptr;
}

void SlotMap::set(uint16_t slot, const NodeAddr& to) { owner_[slot & (kSlots - 1)] = index_of(to); }

bool SlotMap::complete() const {
  for (uint16_t idx : owner_) {
    if (idx == 0) return false;
  }
  return true;
}

}  // namespace ringchat::redis
