#pragma once
#include <string>

#include "ringchat/chat/shard.h"

namespace ringchat::app {

// The process allocator's settings for a long-running server, and the call
// that gives freed memory back to the OS. Compiled into the ringchat
// executable only (root meson.build), which alone links mimalloc; in
// sanitizer builds the sanitizer owns malloc and both are no-ops.
//
// Thread: configure_allocator() on the main thread before any other thread
// exists; allocator_hooks()'s trim on any thread, for that thread; its
// metrics on any thread.

// Sets the options memory return depends on (allocator.cc says why each).
// An operator's MIMALLOC_<OPTION> environment variable wins over ours.
// Returns a short description for the start-up log.
std::string configure_allocator();

// Gives back to the OS the memory the calling thread has freed: its empty
// pages, the free parts of its segments, the allocator's cache of empty
// segments. Meant for a shard that goes idle after freeing: 1.7 ms of CPU
// on average after the floods of tests/e2e/flood_memory_test.py (7.5 ms the
// most measured), much less when little was freed; too slow for every
// loop turn.
// With it, for /metrics: mimalloc's committed bytes (now and peak), its peak
// RSS and page faults (mi_process_info).
// Both null when the sanitizer owns malloc.
chat::AllocatorHooks allocator_hooks();

}  // namespace ringchat::app
