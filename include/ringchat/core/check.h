#pragma once
#include <cstdio>
#include <cstdlib>

// RC_CHECK guards ringchat's own invariants and stays on in release builds.
// Bad input from a peer must never reach one: it is a branch, not a check.
#define RC_CHECK(cond)                                                                 \
  do {                                                                                 \
    if (__builtin_expect(!(cond), 0)) {                                                \
      std::fprintf(stderr, "%s:%d: RC_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

#ifdef NDEBUG
#define RC_DCHECK(cond) \
  do {                  \
    (void)sizeof(cond); \
  } while (0)
#else
#define RC_DCHECK(cond) RC_CHECK(cond)
#endif
