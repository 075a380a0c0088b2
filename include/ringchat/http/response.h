#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ringchat::http {

// Responses are built whole into one string, ready for a single send.
// Every function here is pure. Thread: any.

// The RFC 9110 reason phrase of `status`, or "Unknown".
std::string_view reason_phrase(int status);

// A complete HTTP/1.1 response: status line, `Server: ringchat`,
// Content-Type (omitted when `content_type` is empty), Content-Length,
// `Connection: keep-alive` or `close`, then `extra_headers` verbatim (each
// "Name: value\r\n"), a blank line and `body`. 1xx, 204 and 304 responses
// carry neither Content-Length nor body (RFC 9110 §6.4.1, §8.6), and a 101 leaves the
// Connection header to `extra_headers` ("Connection: Upgrade").
std::string make_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, std::string_view extra_headers = {});

// Only the head of make_response() (through the blank line), announcing
// `content_length` body bytes: the answer to HEAD, or the head of a body
// the caller sends separately.
std::string make_response_head(int status, std::string_view content_type, size_t content_length,
                               bool keep_alive, std::string_view extra_headers = {});

// The head of a response whose body runs until the connection closes (RFC
// 9112 §6.3: no Content-Length, `Connection: close`): an event stream, whose
// events are written as they come.
std::string make_stream_head(int status, std::string_view content_type,
                             std::string_view extra_headers = {});

// A short error response with `Connection: close` and a text/plain body
// "<status> <reason>: <detail>\n" (just "<status> <reason>\n" when `detail`
// is empty).
std::string make_error(int status, std::string_view detail, std::string_view extra_headers = {});

}  // namespace ringchat::http
