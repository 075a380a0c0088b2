// The server's TLS context: versions, suites, ALPN, certificate and key.
#include "ringchat/tls/context.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
// clang-format on

#include <cstring>
#include <mutex>

#include "io.h"

namespace ringchat::tls {

namespace {

// ALPN: http/1.1 when the client offers it (every route here is HTTP/1.1);
// a client offering only others (h2) goes on without ALPN.
int select_alpn(WOLFSSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static constexpr std::string_view kHttp11 = "http/1.1";
  for (unsigned i = 0; i < inlen;) {
    const unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == kHttp11) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// wolfSSL's SessionTicketEncCb over TicketKeys.
int ticket_cb(WOLFSSL*, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
              unsigned char iv[WOLFSSL_TICKET_IV_SZ], unsigned char mac[WOLFSSL_TICKET_MAC_SZ],
              int enc, unsigned char* ticket, int len, int* out_len, void* keys_ptr) {
  static_assert(WOLFSSL_TICKET_NAME_SZ == TicketKeys::kNameSize &&
                WOLFSSL_TICKET_IV_SZ == TicketKeys::kIvSize &&
                WOLFSSL_TICKET_MAC_SZ == TicketKeys::kMacSize);
  auto& keys = *static_cast<TicketKeys*>(keys_ptr);
  auto& name = *reinterpret_cast<TicketKeys::Name*>(key_name);
  auto& nonce = *reinterpret_cast<uint8_t(*)[TicketKeys::kIvSize]>(iv);
  auto& tag = *reinterpret_cast<uint8_t(*)[TicketKeys::kMacSize]>(mac);
  const std::span<uint8_t> bytes(ticket, static_cast<size_t>(len));
  *out_len = len;
  if (enc)
    return keys.seal(bytes, name, nonce, tag) ? WOLFSSL_TICKET_RET_OK : WOLFSSL_TICKET_RET_FATAL;
  switch (keys.open(bytes, name, nonce, tag)) {
    case TicketKeys::Opened::kCurrent:
      return WOLFSSL_TICKET_RET_OK;
    case TicketKeys::Opened::kPrevious:
      return WOLFSSL_TICKET_RET_CREATE;
    case TicketKeys::Opened::kRejected:
      break;
  }
  return WOLFSSL_TICKET_RET_REJECT;
}

std::string why(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof(text));
  return text;
}

}  // namespace

std::string_view default_ciphers() {
  return "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"
         "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
         "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
         "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384";
}

struct ServerContext::Cert {
  WOLFSSL_CTX* ctx = nullptr;
  WOLFSSL_X509* x509 = nullptr;  // its names, for SNI
};

namespace {

// One certificate's context, with everything every context has.
Result<void, std::string> configure(WOLFSSL_CTX* ctx, const CertFiles& files,
                                    const ContextConfig& cfg, TicketKeys* tickets) {
  if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
    return Err(std::string("TLS context: cannot require TLS 1.2"));
  }
  const std::string ciphers = cfg.ciphers.empty() ? std::string(default_ciphers()) : cfg.ciphers;
  if (wolfSSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != WOLFSSL_SUCCESS) {
    return Err("--tls-ciphers: no suite of \"" + ciphers + "\" is known to wolfSSL");
  }
  if (int r = wolfSSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str());
      r != WOLFSSL_SUCCESS) {
    return Err("--tls-cert " + files.cert + ": not a PEM certificate chain (" + why(r) + ")");
  }
  if (int r = wolfSSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), WOLFSSL_FILETYPE_PEM);
      r != WOLFSSL_SUCCESS) {
    return Err("--tls-key " + files.key + ": not a PEM private key (" + why(r) + ")");
  }
  if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
    return Err("--tls-key " + files.key + " is not the key of --tls-cert " + files.cert);
  }
  // Key exchange: X25519 first (what browsers offer first, and cheaper
  // than P-256 in this wolfSSL), then the NIST curves.
  int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
  if (wolfSSL_CTX_set_groups(ctx, groups, 3) != WOLFSSL_SUCCESS) {
    return Err(std::string("TLS context: wolfSSL refuses the key-exchange groups"));
  }
  wolfSSL_CTX_SetIORecv(ctx, io_recv);
  wolfSSL_CTX_SetIOSend(ctx, io_send);
  wolfSSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  if (wolfSSL_CTX_set_TicketEncCb(ctx, ticket_cb) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_TicketEncCtx(ctx, tickets) != WOLFSSL_SUCCESS ||
      wolfSSL_CTX_set_TicketHint(ctx, static_cast<int>(cfg.ticket_rotate_ms / 1000)) !=
          WOLFSSL_SUCCESS) {
    return Err(std::string("TLS context: wolfSSL takes no session-ticket callback"));
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<const ServerContext>, std::string> ServerContext::create(
    const ContextConfig& cfg, std::shared_ptr<TicketKeys> tickets) {
  static std::once_flag init;
  std::call_once(init, [] { wolfSSL_Init(); });
  if (cfg.certs.empty()) return Err(std::string("TLS needs a certificate and its key"));
  std::shared_ptr<ServerContext> self(new ServerContext());
  self->tickets_ =
      tickets ? std::move(tickets) : std::make_shared<TicketKeys>(cfg.ticket_rotate_ms);
  for (const CertFiles& files : cfg.certs) {
    Cert& cert = self->certs_.emplace_back();
    cert.ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (!cert.ctx) return Err(std::string("TLS context: out of memory"));
    if (auto r = configure(cert.ctx, files, cfg, self->tickets_.get()); !r) return Err(r.error());
    cert.x509 = wolfSSL_X509_load_certificate_file(files.cert.c_str(), WOLFSSL_FILETYPE_PEM);
    if (!cert.x509) return Err("--tls-cert " + files.cert + ": no certificate to read names from");
  }
  if (self->certs_.size() > 1) {
    WOLFSSL_CTX* first = self->certs_.front().ctx;
    wolfSSL_CTX_set_servername_callback(first, pick_certificate);
    wolfSSL_CTX_set_servername_arg(first, self.get());
  }
  return std::shared_ptr<const ServerContext>(std::move(self));
}

int ServerContext::pick_certificate(WOLFSSL* ssl, int*, void* self) {
  const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default
  const size_t len = std::strlen(name);
  for (const Cert& cert : static_cast<ServerContext*>(self)->certs_) {
    if (wolfSSL_X509_check_host(cert.x509, name, len, 0, nullptr) == WOLFSSL_SUCCESS) {
      if (cert.ctx != wolfSSL_get_SSL_CTX(ssl)) wolfSSL_set_SSL_CTX(ssl, cert.ctx);
      break;
    }
  }
  return SSL_TLSEXT_ERR_OK;  // a name of none of them: the default
}

ServerContext::~ServerContext() {
  for (Cert& cert : certs_) {
    if (cert.x509) wolfSSL_X509_free(cert.x509);
    if (cert.ctx) wolfSSL_CTX_free(cert.ctx);
  }
}

WOLFSSL* ServerContext::new_ssl() const { return wolfSSL_new(certs_.front().ctx); }

}  // namespace ringchat::tls
