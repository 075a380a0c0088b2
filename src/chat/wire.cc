#include "wire.h"

#include "ringchat/ws/frame_encoder.h"

namespace ringchat::chat {

net::SharedBuf* encode(Format f, const Message& m) {
  switch (f) {
    case Format::kRawWs:
      // A raw room socket gets the payload as it was sent, same opcode.
      return ws::make_server_frame(m.opcode, m.payload);
  }
  return nullptr;
}

}  // namespace ringchat::chat
