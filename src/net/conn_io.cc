#include "ringchat/net/conn_io.h"

#include "ringchat/core/op.h"

namespace ringchat::net {

using core::Op;
using core::pack;

void ReactorIo::recv(uint32_t slot, uint32_t gen) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = core::Reactor::kBufferGroup;
  io_uring_sqe_set_data64(sqe, pack(Op::kRecv, slot, gen));
}

void ReactorIo::cancel_recv(uint32_t slot, uint32_t gen) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_cancel64(sqe, pack(Op::kRecv, slot, gen), 0);
  io_uring_sqe_set_data64(sqe, pack(Op::kCancel, 0, 0));
}

void ReactorIo::send(uint32_t slot, uint32_t gen, const msghdr* msg) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_sendmsg(sqe, static_cast<int>(slot), msg, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, pack(Op::kSend, slot, gen));
}

void ReactorIo::shutdown(uint32_t slot, uint32_t gen) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_shutdown(sqe, static_cast<int>(slot), SHUT_WR);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, pack(Op::kShutdown, slot, gen));
}

void ReactorIo::cancel_all(uint32_t slot) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_cancel_fd(sqe, static_cast<int>(slot),
                          IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
  io_uring_sqe_set_data64(sqe, pack(Op::kCancel, 0, 0));
}

void ReactorIo::close(uint32_t slot, uint32_t gen) {
  io_uring_sqe* sqe = reactor_.get_sqe();
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, pack(Op::kClose, slot, gen));
}

}  // namespace ringchat::net
