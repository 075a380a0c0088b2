#include "ringchat/net/shared_buf.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "ringchat/core/check.h"

namespace ringchat::net {

SharedBuf* SharedBuf::create(size_t size, uint32_t refs) {
  RC_CHECK(size <= UINT32_MAX && refs > 0);
  void* mem = std::malloc(sizeof(SharedBuf) + size);
  RC_CHECK(mem != nullptr);
  auto* b = new (mem) SharedBuf{};
  b->refs.store(refs, std::memory_order_relaxed);
  b->size = static_cast<uint32_t>(size);
  return b;
}

SharedBuf* SharedBuf::copy_of(std::string_view bytes) {
  SharedBuf* b = create(bytes.size());
  if (!bytes.empty()) std::memcpy(b->data(), bytes.data(), bytes.size());
  return b;
}

void SharedBuf::release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~SharedBuf();
    std::free(this);
  }
}

LocalBuf* LocalBuf::create(SharedBuf* b, uint32_t count, SendBudget* budget) {
  if (budget) budget->hold(b->size);
  return new LocalBuf{b, count, budget};
}

void LocalBuf::release() {
  RC_DCHECK(count > 0);
  if (--count == 0) {
    if (budget) budget->free(buf->size);
    buf->release();
    delete this;
  }
}

}  // namespace ringchat::net
