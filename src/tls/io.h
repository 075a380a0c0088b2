#pragma once
// Private to the tls module: wolfSSL's I/O for every connection, set on
// every context (so that an SNI switch of context keeps it).
#include <cstddef>
#include <span>
#include <string>

struct WOLFSSL;

namespace ringchat::tls {

// One connection's ciphertext: what the socket delivered and wolfSSL has
// not read yet (during TlsTransport::decode), and what wolfSSL wrote.
// wolfSSL's I/O context of each connection points at its IoBuffers.
struct IoBuffers {
  std::span<const std::byte> in;
  std::string out;
};

// Never block, never call the kernel.
int io_recv(WOLFSSL* ssl, char* buf, int size, void* buffers);
int io_send(WOLFSSL* ssl, char* buf, int size, void* buffers);

}  // namespace ringchat::tls
