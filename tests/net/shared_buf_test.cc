#include "ringchat/net/shared_buf.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringchat::net {
namespace {

// Bytes the allocator holds in large (mmapped) blocks: a buffer bigger than
// the mmap threshold shows up here while alive and leaves when freed.
// A fixed threshold stops glibc from raising it after the first free.
// Sanitizer allocators do not report it; tests then rely on ASan instead.
size_t mmapped_bytes() {
  static const bool fixed = mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1;
  (void)fixed;
  return mallinfo2().hblkhd;
}

constexpr size_t kBigBuf = 8u << 20;

void fill(SharedBuf* f, char c) { std::memset(f->data(), c, f->size); }

TEST(SharedBuf, CreateSetsSizeAndReferences) {
  SharedBuf* b = SharedBuf::create(5);
  EXPECT_EQ(b->refs.load(), 1u);
  EXPECT_EQ(b->size, 5u);
  b->release();
  SharedBuf* c = SharedBuf::create(5, 3);
  EXPECT_EQ(c->refs.load(), 3u) << "one reference per member shard, set before sharing";
  c->release();
  c->release();
  c->release();
}

TEST(SharedBuf, BytesFollowTheHeader) {
  SharedBuf* b = SharedBuf::create(4);
  EXPECT_EQ(b->data(), reinterpret_cast<std::byte*>(b + 1));
  std::memcpy(b->data(), "wxyz", 4);
  EXPECT_EQ(b->view(), "wxyz");
  EXPECT_EQ(b->bytes().size(), 4u);
  const SharedBuf* cb = b;
  EXPECT_EQ(cb->data(), b->data());
  b->release();
}

TEST(SharedBuf, CopyOfHoldsTheBytes) {
  SharedBuf* b = SharedBuf::copy_of("room.a");
  EXPECT_EQ(b->view(), "room.a");
  EXPECT_EQ(b->refs.load(), 1u);
  b->release();
  SharedBuf* e = SharedBuf::copy_of({});
  EXPECT_EQ(e->size, 0u);
  EXPECT_TRUE(e->bytes().empty());
  e->release();
}

TEST(SharedBuf, LastReleaseFreesExactlyOnce) {
  const size_t before = mmapped_bytes();
  SharedBuf* f = SharedBuf::create(kBigBuf);
  fill(f, 'a');
  const size_t alive = mmapped_bytes();
  if (alive < before + kBigBuf) {
    f->release();  // sanitizer allocators do not report mmapped bytes
    GTEST_SKIP() << "allocator does not report mmapped bytes";
  }
  f->refs.fetch_add(2);  // three holders
  f->release();
  EXPECT_EQ(mmapped_bytes(), alive);
  EXPECT_EQ(f->refs.load(), 2u);
  f->release();
  EXPECT_EQ(mmapped_bytes(), alive);
  EXPECT_EQ(f->refs.load(), 1u);
  f->release();
  EXPECT_EQ(mmapped_bytes(), before);
}

TEST(LocalBuf, CreateWrapsOneReference) {
  SharedBuf* f = SharedBuf::create(1);
  f->refs.fetch_add(1);  // the test's own
  LocalBuf* lf = LocalBuf::create(f, 3);
  EXPECT_EQ(lf->buf, f);
  EXPECT_EQ(lf->count, 3u);
  EXPECT_EQ(f->refs.load(), 2u) << "creating a LocalBuf takes no extra reference";
  lf->release();
  lf->release();
  lf->release();
  f->release();
}

TEST(LocalBuf, SharesOneReferenceAmongItsCount) {
  SharedBuf* f = SharedBuf::create(1);
  f->refs.fetch_add(1);  // the test's own
  LocalBuf* lf = LocalBuf::create(f, 3);
  lf->release();
  EXPECT_EQ(f->refs.load(), 2u);
  lf->release();
  EXPECT_EQ(f->refs.load(), 2u);
  lf->release();  // the last connection hands the shard's reference back
  EXPECT_EQ(f->refs.load(), 1u);
  f->release();
}

TEST(LocalBuf, LastLocalReleaseFreesTheBufferWhenItWasTheLastHolder) {
  const size_t before = mmapped_bytes();
  SharedBuf* f = SharedBuf::create(kBigBuf);
  fill(f, 'b');
  const size_t alive = mmapped_bytes();
  if (alive < before + kBigBuf) {
    f->release();  // sanitizer allocators do not report mmapped bytes
    GTEST_SKIP() << "allocator does not report mmapped bytes";
  }
  LocalBuf* lf = LocalBuf::create(f, 2);
  lf->release();
  EXPECT_EQ(mmapped_bytes(), alive);
  lf->release();
  EXPECT_EQ(mmapped_bytes(), before);
}

TEST(LocalBuf, TwoShardsEachHoldTheirOwnReference) {
  SharedBuf* f = SharedBuf::create(1);
  f->refs.store(2);      // one reference per member shard
  f->refs.fetch_add(1);  // and the test's
  LocalBuf* a = LocalBuf::create(f, 1);
  LocalBuf* b = LocalBuf::create(f, 2);
  a->release();
  EXPECT_EQ(f->refs.load(), 2u);
  b->release();
  b->release();
  EXPECT_EQ(f->refs.load(), 1u);
  f->release();
}

TEST(LocalBuf, BudgetCountsASharedBufferOnceUntilTheLastShareGoes) {
  SendBudget budget;
  SharedBuf* f = SharedBuf::create(1000);
  LocalBuf* lf = LocalBuf::create(f, 3, &budget);
  EXPECT_EQ(budget.held_bytes, 1000u) << "three members share one copy";
  SharedBuf* g = SharedBuf::create(10);
  LocalBuf* lg = LocalBuf::create(g, 1, &budget);
  EXPECT_EQ(budget.held_bytes, 1010u);
  lf->release();
  lf->release();
  EXPECT_EQ(budget.held_bytes, 1010u);
  lf->release();
  EXPECT_EQ(budget.held_bytes, 10u);
  lg->release();
  EXPECT_EQ(budget.held_bytes, 0u);
  EXPECT_EQ(budget.peak_bytes, 1010u);
}

}  // namespace
}  // namespace ringchat::net
