#include "app/allocator.h"

#ifdef RINGCHAT_MIMALLOC
#include <mimalloc.h>

#include <cstdlib>
#include <mutex>

#include "ringchat/obs/metrics.h"
#endif

namespace ringchat::app {

#ifdef RINGCHAT_MIMALLOC
namespace {

// How mimalloc 2.0.9 (Debian 12) holds memory, as far as giving it back goes:
// each thread allocates from its own 32 MiB segments, cut into pages. A page
// whose blocks are all free goes back to its segment as a free span, but only
// when its owning thread next collects it (blocks freed by another shard wait
// on the page's thread-free list). A free span is decommitted
// (madvise(MADV_DONTNEED): RSS drops at once) either immediately, when
// decommit_delay is 0, or once the delay has passed AND the thread allocates
// a new page in that same segment. A thread that goes idle allocates
// nothing, so without help its freed spans stay resident forever: that is
// the "memory is not given back" of issue 6. A segment that empties entirely
// goes to a process-wide cache and is decommitted segment_decommit_delay
// later, when some thread next frees a segment or collects.
//
// decommit_delay 0 for good would return memory under load too, but costs
// a madvise per freed page and a page fault per page reused: with ringload
// (fan-out of 1000-byte messages, 2 shards on one CPU) the server spent about
// twice the CPU per message (4-6 us -> 10-13 us). So the delay stays for
// busy shards, and trim() below decommits when a shard goes idle.

// An option we set, unless the operator set it through the environment
// (mimalloc reads MIMALLOC_<NAME> before main; a few options also answer to
// an older name).
struct Setting {
  mi_option_t option;
  const char* env;
  const char* legacy_env;
  long value;
};

// Options not set here keep mimalloc's defaults, on purpose:
// - eager_commit, eager_commit_delay: on Linux "commit" is only address
//   space; RSS grows when pages are touched, whatever these say.
// - segment_decommit_delay (500 ms): empty segments are reused within it
//   under load; trim() decommits the cache at once when a shard idles.
// - decommit_extend_delay, max_segment_reclaim, abandoned_page_decommit:
//   shard threads live as long as the process, so abandonment (thread exit)
//   does not happen while it serves.
// - The deprecated reset options (deprecated_reset_decommits,
//   deprecated_segment_reset, deprecated_segment_cache) do nothing in 2.0.9.
constexpr Setting kSettings[] = {
    // Decommitting is how memory goes back at all. On by default; said here
    // because everything below depends on it.
    {mi_option_allow_decommit, "MIMALLOC_ALLOW_DECOMMIT", nullptr, 1},
    // 25 ms, mimalloc's default, kept explicitly: trim() sets it to 0 while
    // it runs and restores this value. Shorter costs throughput (see above);
    // longer only delays what busy shards give back.
    {mi_option_decommit_delay, "MIMALLOC_DECOMMIT_DELAY", "MIMALLOC_RESET_DELAY", 25},
    // page_reset would madvise(MADV_FREE) every page as it empties: a
    // syscall per page for memory that still counts in RSS until the kernel
    // is short of memory. Decommitting (MADV_DONTNEED) is what lowers RSS.
    {mi_option_page_reset, "MIMALLOC_PAGE_RESET", nullptr, 0},
    // Large (2 MiB) OS pages are never decommitted: with them nothing would
    // go back. Off by default; kept off unless asked for.
    {mi_option_large_os_pages, "MIMALLOC_LARGE_OS_PAGES", nullptr, 0},
};

bool operator_set(const Setting& s) {
  return std::getenv(s.env) != nullptr ||
         (s.legacy_env != nullptr && std::getenv(s.legacy_env) != nullptr);
}

// Written once by configure_allocator(), before any shard thread exists.
long g_decommit_delay = 25;
// Serialises trims: each sets the process-wide decommit_delay to 0 and back,
// and two interleaved trims could otherwise restore in the wrong order.
// Shards trim at most once a second each, when idle (chat/shard.cc).
std::mutex g_trim_mutex;

// A segment's delayed decommits (free spans waiting out decommit_delay) are
// carried out only when a page is allocated in that segment. A fresh heap
// has no pages, so each allocation here takes a new one: a small, a medium
// and a large page, each placed best-fit in the thread's free spans and so
// likely in different segments, whose expired decommits then happen.
// Destroying the heap frees the three pages again.
void run_delayed_decommits() {
  mi_heap_t* heap = mi_heap_new();
  if (heap == nullptr) return;
  for (size_t size : {size_t{16}, size_t{48} << 10, size_t{1} << 20}) {
    (void)mi_heap_malloc(heap, size);
  }
  mi_heap_destroy(heap);
}

void trim() {
  // mi_collect(true) frees the thread's empty pages (including those whose
  // blocks other shards freed) and decommits the empty-segment cache, but
  // in 2.0.9 it leaves the free spans of segments still in use committed
  // until their delay passes and a page is allocated there. So, with the
  // delay at 0 for the duration: run_delayed_decommits() for spans freed
  // more than decommit_delay ago, and each page freed now is decommitted
  // together with the free spans it coalesces with. What can stay: spans
  // freed less than decommit_delay ago next to pages still in use, until
  // the next trim (after the floods of tests/e2e/flood_memory_test.py, RSS
  // is back within 0.5 MiB of idle; 0.3 to 2.9 MiB without the first step).
  // Other threads that free a page during this window decommit it at once
  // too: harmless, and mimalloc reads its options without synchronisation
  // by design (plain aligned words).
  std::lock_guard<std::mutex> lock(g_trim_mutex);
  mi_option_set(mi_option_decommit_delay, 0);
  run_delayed_decommits();
  mi_collect(true);
  mi_option_set(mi_option_decommit_delay, g_decommit_delay);
}

}  // namespace

std::string configure_allocator() {
  std::string kept;
  for (const Setting& s : kSettings) {
    if (operator_set(s)) {
      kept += kept.empty() ? "" : ", ";
      kept += s.env;
      continue;
    }
    mi_option_set(s.option, s.value);
  }
  g_decommit_delay = mi_option_get(mi_option_decommit_delay);
  std::string what = "mimalloc " + std::to_string(mi_version()) + ", decommit delay " +
                     std::to_string(g_decommit_delay) + " ms, idle shards trim";
  if (!kept.empty()) what += " (from the environment: " + kept + ")";
  return what;
}

// mi_process_info, for /metrics.
static void metrics(std::string& out) {
  size_t elapsed_ms, user_ms, system_ms, rss, peak_rss, commit, peak_commit, faults;
  mi_process_info(&elapsed_ms, &user_ms, &system_ms, &rss, &peak_rss, &commit, &peak_commit,
                  &faults);
  const struct {
    const char* name;
    const char* type;
    const char* help;
    size_t value;
  } kRows[] = {
      {"ringchat_mimalloc_commit_bytes", "gauge", "Memory mimalloc has committed", commit},
      {"ringchat_mimalloc_peak_commit_bytes", "gauge", "The most memory mimalloc had committed",
       peak_commit},
      {"ringchat_mimalloc_peak_rss_bytes", "gauge", "Peak resident memory, as mimalloc saw it",
       peak_rss},
      {"ringchat_mimalloc_page_faults_total", "counter", "Major page faults of the process",
       faults},
  };
  for (const auto& r : kRows) {
    obs::append_family(out, r.name, r.type, r.help);
    obs::append_sample(out, r.name, "", static_cast<double>(r.value));
  }
}

chat::AllocatorHooks allocator_hooks() { return {&trim, &metrics}; }

#else

std::string configure_allocator() { return "the sanitizer's allocator: no trimming"; }
chat::AllocatorHooks allocator_hooks() { return {}; }

#endif

}  // namespace ringchat::app
