#include "ringchat/net/frame.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "ringchat/core/check.h"

namespace ringchat::net {

Frame* Frame::create(size_t wire_size, std::string_view tag) {
  RC_CHECK(wire_size <= UINT32_MAX && tag.size() <= UINT16_MAX);
  void* mem = std::malloc(sizeof(Frame) + tag.size() + wire_size);
  RC_CHECK(mem != nullptr);
  Frame* f = new (mem) Frame{};
  f->refs.store(1, std::memory_order_relaxed);
  f->size = static_cast<uint32_t>(wire_size);
  f->tag_len = static_cast<uint16_t>(tag.size());
  if (!tag.empty()) std::memcpy(static_cast<char*>(mem) + sizeof(Frame), tag.data(), tag.size());
  return f;
}

void Frame::release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~Frame();
    std::free(this);
  }
}

LocalFrame* LocalFrame::create(Frame* f, uint32_t count, SendBudget* budget) {
  if (budget) {
    budget->held_bytes += f->size;
    if (budget->held_bytes > budget->peak_bytes) budget->peak_bytes = budget->held_bytes;
  }
  return new LocalFrame{f, count, budget};
}

void LocalFrame::release() {
  RC_DCHECK(count > 0);
  if (--count == 0) {
    if (budget) budget->held_bytes -= frame->size;
    frame->release();
    delete this;
  }
}

}  // namespace ringchat::net
