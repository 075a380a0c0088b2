#pragma once
#include <cstddef>
#include <span>
#include <string_view>

// The files of web/ (the chat page, the dashboard, their scripts and
// styles), compiled into the binary at build time by tools/embed_web.py:
// nothing is read from disk or fetched at run time.
namespace ringchat::web {

// One embedded file. Thread: any; immutable, static storage.
struct Asset {
  std::string_view path;          // the URL path it is served at: "/", "/dashboard", "/app.js"
  std::string_view name;          // its file name in web/: "index.html"
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view etag;          // a strong ETag, quoted: a hash of the bytes
  const unsigned char* data;
  size_t size;
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Every embedded file, by file name.
std::span<const Asset> all();
// The file served at `path`, or null.
const Asset* find(std::string_view path);

}  // namespace ringchat::web
