#include "front.h"

namespace ringchat::chat {

void Front::on_open(net::Conn& c) {
  Session& s = ctx_.sessions.reset(ctx_.conns.slot_of(c));
  c.protocol = static_cast<uint8_t>(ProtocolId::kHttp);
  protocols_[c.protocol]->on_open(c, s);
}

}  // namespace ringchat::chat
