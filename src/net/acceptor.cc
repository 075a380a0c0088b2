#include "ringchat/net/acceptor.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ringchat/core/check.h"
#include "ringchat/obs/log.h"

namespace ringchat::net {

using core::Op;
using obs::Metric;

Acceptor::~Acceptor() {
  for (uint32_t p = 0; p < port_count_; ++p) {
    if (ports_[p].fd >= 0) ::close(ports_[p].fd);
  }
}

Result<void, std::string> Acceptor::listen(const std::string& bind, uint16_t port,
                                           const SocketOptions& opts, uint16_t* bound,
                                           uint8_t transport) {
  RC_CHECK(port_count_ < kMaxPorts);
  auto fd = listen_tcp(bind, port, opts, bound);
  if (!fd) return Err(fd.error());
  ports_[port_count_].fd = *fd;
  ports_[port_count_].transport = transport;
  ++port_count_;
  return {};
}

void Acceptor::start() {
  for (uint32_t p = 0; p < port_count_; ++p) {
    for (uint32_t i = 0; i < kSlots; ++i) arm(p, i);
  }
}

void Acceptor::arm(uint32_t port, uint32_t i) {
  if (stopped_) return;
  Slot& slot = ports_[port].slots[i];
  slot.len = sizeof(slot.addr);
  io_uring_sqe* sqe = reactor_.get_sqe();
  // This liburing adds 1 to the index it is given (0 means "not direct"),
  // so "allocate one" is passed as IORING_FILE_INDEX_ALLOC - 1.
  io_uring_prep_accept_direct(sqe, ports_[port].fd, reinterpret_cast<sockaddr*>(&slot.addr),
                              &slot.len, 0, IORING_FILE_INDEX_ALLOC - 1);
  io_uring_sqe_set_data64(sqe, core::pack(Op::kAccept, i, port));
}

void Acceptor::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (uint32_t p = 0; p < port_count_; ++p) {
    int& fd = ports_[p].fd;
    io_uring_sqe* sqe = reactor_.get_sqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, core::pack(Op::kCancel, 0, 0));
    // The cancelled accepts hold their own reference to the socket, and a
    // shard with no connections stops before submitting the cancel:
    // shutdown() takes the socket out of the SO_REUSEPORT group now,
    // whatever holds it.
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    fd = -1;
  }
}

void Acceptor::on_completion(const io_uring_cqe* cqe, core::Tag tag) {
  const uint32_t port = tag.gen;
  const uint32_t i = tag.slot;
  RC_CHECK(port < port_count_ && i < kSlots);
  if (cqe->res < 0) {
    // After stop() the listeners are closed: accepts still in flight end
    // with -ECANCELED, -EBADF or -EINVAL, none of them news.
    if (stopped_) return;
    if (cqe->res == -ENFILE || cqe->res == -EMFILE) {
      metrics_.add(Metric::kConnectionsRejected);
      RC_WARN_LIMITED("connection refused: all %u connection slots in use", table_.max_conns());
    } else if (cqe->res != -ECANCELED) {
      metrics_.add(Metric::kIoErrors);
      RC_WARN_LIMITED("accept failed: %s", std::strerror(-cqe->res))
          .kv("event", "accept_failed")
          .err(-cqe->res);
    }
    if (cqe->res != -ECANCELED) arm(port, i);
    return;
  }
  const PeerAddr peer = PeerAddr::from(ports_[port].slots[i].addr);
  arm(port, i);
  Conn& c = table_.open(static_cast<uint32_t>(cqe->res), peer, ports_[port].transport);
  if (stopped_) table_.abort(c);  // accepted while the stop was on its way
}

}  // namespace ringchat::net
