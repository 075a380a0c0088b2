#include "ringchat/net/frame.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringchat::net {
namespace {

// Bytes the allocator holds in large (mmapped) blocks: a frame bigger than
// the mmap threshold shows up here while alive and leaves when freed.
// A fixed threshold stops glibc from raising it after the first free.
// Sanitizer allocators do not report it; tests then rely on ASan instead.
size_t mmapped_bytes() {
  static const bool fixed = mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1;
  (void)fixed;
  return mallinfo2().hblkhd;
}

constexpr size_t kBigFrame = 8u << 20;

void fill(Frame* f, char c) { std::memset(f->data(), c, f->size); }

TEST(Frame, CreateSetsSizeTagAndOneReference) {
  Frame* f = Frame::create(5, "room.a");
  EXPECT_EQ(f->refs.load(), 1u);
  EXPECT_EQ(f->size, 5u);
  EXPECT_EQ(f->tag_len, 6u);
  EXPECT_EQ(f->tag(), "room.a");
  EXPECT_EQ(f->seq, 0u);
  EXPECT_EQ(f->sender_shard, 0xFFFF);
  f->release();
}

TEST(Frame, DataFollowsHeaderThenTag) {
  Frame* f = Frame::create(4, "abc");
  const auto* base = reinterpret_cast<const std::byte*>(f);
  EXPECT_EQ(reinterpret_cast<const std::byte*>(f->tag().data()), base + sizeof(Frame));
  EXPECT_EQ(f->data(), base + sizeof(Frame) + 3);
  std::memcpy(f->data(), "wxyz", 4);
  EXPECT_EQ(f->tag(), "abc") << "writing the data must not touch the tag";
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(f->bytes().data()), f->bytes().size()),
            "wxyz");
  f->release();
}

TEST(Frame, WithoutTagDataStartsRightAfterHeader) {
  Frame* f = Frame::create(3);
  EXPECT_EQ(f->tag_len, 0u);
  EXPECT_TRUE(f->tag().empty());
  EXPECT_EQ(f->data(), reinterpret_cast<std::byte*>(f + 1));
  EXPECT_EQ(f->bytes().size(), 3u);
  f->release();
}

TEST(Frame, ZeroSizeFrameCarriesOnlyItsTag) {
  Frame* f = Frame::create(0, "lobby");
  EXPECT_EQ(f->size, 0u);
  EXPECT_TRUE(f->bytes().empty());
  EXPECT_EQ(f->tag(), "lobby");
  f->release();
}

TEST(Frame, MaxLengthTagIsKept) {
  const std::string tag(UINT16_MAX, 't');
  Frame* f = Frame::create(2, tag);
  EXPECT_EQ(f->tag_len, UINT16_MAX);
  EXPECT_EQ(f->tag(), tag);
  f->release();
}

TEST(Frame, ConstDataMatchesMutableData) {
  Frame* f = Frame::create(2, "r");
  const Frame* cf = f;
  EXPECT_EQ(cf->data(), f->data());
  f->release();
}

TEST(Frame, LastReleaseFreesExactlyOnce) {
  const size_t before = mmapped_bytes();
  Frame* f = Frame::create(kBigFrame, "big");
  fill(f, 'a');
  const size_t alive = mmapped_bytes();
  if (alive < before + kBigFrame) {
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

TEST(LocalFrame, CreateWrapsOneReference) {
  Frame* f = Frame::create(1);
  f->refs.fetch_add(1);  // the test's own
  LocalFrame* lf = LocalFrame::create(f, 3);
  EXPECT_EQ(lf->frame, f);
  EXPECT_EQ(lf->count, 3u);
  EXPECT_EQ(f->refs.load(), 2u) << "creating a LocalFrame takes no extra reference";
  lf->release();
  lf->release();
  lf->release();
  f->release();
}

TEST(LocalFrame, SharesOneReferenceAmongItsCount) {
  Frame* f = Frame::create(1);
  f->refs.fetch_add(1);  // the test's own
  LocalFrame* lf = LocalFrame::create(f, 3);
  lf->release();
  EXPECT_EQ(f->refs.load(), 2u);
  lf->release();
  EXPECT_EQ(f->refs.load(), 2u);
  lf->release();  // the last connection hands the shard's reference back
  EXPECT_EQ(f->refs.load(), 1u);
  f->release();
}

TEST(LocalFrame, LastLocalReleaseFreesTheFrameWhenItWasTheLastHolder) {
  const size_t before = mmapped_bytes();
  Frame* f = Frame::create(kBigFrame);
  fill(f, 'b');
  const size_t alive = mmapped_bytes();
  if (alive < before + kBigFrame) {
    f->release();  // sanitizer allocators do not report mmapped bytes
    GTEST_SKIP() << "allocator does not report mmapped bytes";
  }
  LocalFrame* lf = LocalFrame::create(f, 2);
  lf->release();
  EXPECT_EQ(mmapped_bytes(), alive);
  lf->release();
  EXPECT_EQ(mmapped_bytes(), before);
}

TEST(LocalFrame, TwoShardsEachHoldTheirOwnReference) {
  Frame* f = Frame::create(1);
  f->refs.store(2);      // one reference per member shard
  f->refs.fetch_add(1);  // and the test's
  LocalFrame* a = LocalFrame::create(f, 1);
  LocalFrame* b = LocalFrame::create(f, 2);
  a->release();
  EXPECT_EQ(f->refs.load(), 2u);
  b->release();
  b->release();
  EXPECT_EQ(f->refs.load(), 1u);
  f->release();
}

TEST(LocalFrame, BudgetCountsASharedFrameOnceUntilTheLastShareGoes) {
  SendBudget budget;
  Frame* f = Frame::create(1000);
  LocalFrame* lf = LocalFrame::create(f, 3, &budget);
  EXPECT_EQ(budget.held_bytes, 1000u) << "three members share one copy";
  Frame* g = Frame::create(10);
  LocalFrame* lg = LocalFrame::create(g, 1, &budget);
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
