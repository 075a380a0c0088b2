#include "ringchat/net/send_queue.h"

#include <algorithm>

#include "ringchat/core/check.h"

namespace ringchat::net {

SendQueue::~SendQueue() {
  for (size_t i = head_; i < bufs_.size(); ++i) bufs_[i]->release();
}

void SendQueue::push(LocalBuf* lf) {
  bufs_.push_back(lf);
  backlog_bytes_ += lf->buf->size;
}

const msghdr* SendQueue::prepare() {
  RC_DCHECK(!empty() && !in_flight_);
  size_t n = 0;
  for (size_t i = head_; i < bufs_.size() && n < kMaxIov; ++i, ++n) {
    const SharedBuf* f = bufs_[i]->buf;
    size_t skip = (i == head_) ? first_offset_ : 0;
    iov_[n].iov_base = const_cast<std::byte*>(f->data() + skip);
    iov_[n].iov_len = f->size - skip;
  }
  msg_ = msghdr{};
  msg_.msg_iov = iov_;
  msg_.msg_iovlen = n;
  in_flight_ = true;
  in_flight_bufs_ = n;
  return &msg_;
}

size_t SendQueue::drop_unstarted() {
  // Kept: buffers an in-flight sendmsg points at, and one partly sent
  // (its rest must follow, or the stream is corrupt).
  size_t keep = in_flight_ ? in_flight_bufs_ : 0;
  if (first_offset_ > 0 && keep == 0) keep = 1;
  size_t dropped = 0;
  for (size_t i = head_ + keep; i < bufs_.size(); ++i) {
    dropped += bufs_[i]->buf->size;
    bufs_[i]->release();
  }
  bufs_.resize(std::min(bufs_.size(), head_ + keep));
  backlog_bytes_ -= dropped;
  return dropped;
}

void SendQueue::complete(size_t n) {
  RC_DCHECK(in_flight_);
  in_flight_ = false;
  in_flight_bufs_ = 0;
  RC_CHECK(n <= backlog_bytes_);
  backlog_bytes_ -= n;
  // Zero-length buffers count as sent as soon as the bytes before them are.
  while (head_ < bufs_.size()) {
    LocalBuf* lf = bufs_[head_];
    size_t left = lf->buf->size - first_offset_;
    if (n < left) {
      first_offset_ += n;
      return;
    }
    n -= left;
    first_offset_ = 0;
    lf->release();
    ++head_;
  }
  if (head_ == bufs_.size()) {
    bufs_.clear();
    head_ = 0;
  } else if (head_ >= 64 && head_ * 2 >= bufs_.size()) {
    bufs_.erase(bufs_.begin(), bufs_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
}

}  // namespace ringchat::net
