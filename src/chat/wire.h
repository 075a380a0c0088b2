#pragma once
// Private to the chat module: the one place that turns a sequenced message
// into the bytes of each wire format.
#include "ringchat/chat/message.h"
#include "ringchat/net/shared_buf.h"

namespace ringchat::chat {

// The bytes of `m` in format `f`, in a new SharedBuf with one reference.
// Pure. Thread: any (the owner shard calls it once per message and format).
net::SharedBuf* encode(Format f, const Message& m);

}  // namespace ringchat::chat
