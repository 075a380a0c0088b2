#include "ringchat/core/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

namespace ringchat::core {
namespace {

// Origin deliberately off any tick boundary.
constexpr uint64_t kOrigin = 1'000'003;
constexpr uint64_t kTick = 10;
constexpr size_t kSlots = 8;  // one rotation = 80 ms
constexpr size_t kNodes = 64;

class TimerWheelTest : public ::testing::Test {
 protected:
  // Schedules node i at the wheel's current time.
  void arm(size_t i, uint64_t delay_ms) { wheel_.schedule(nodes_[i], delay_ms); }
  size_t index(const TimerNode& n) const { return static_cast<size_t>(&n - nodes_.data()); }
  // Advances to kOrigin + ms, returning the indices that fired, in order.
  std::vector<size_t> at(uint64_t ms) {
    std::vector<size_t> fired;
    const size_t n = wheel_.advance(kOrigin + ms, [&](TimerNode& node) {
      EXPECT_FALSE(TimerWheel::armed(node));
      fired.push_back(index(node));
      if (on_fire_) on_fire_(index(node));
    });
    EXPECT_EQ(n, fired.size());
    return fired;
  }

  TimerWheel wheel_{kTick, kSlots, kOrigin};
  std::array<TimerNode, kNodes> nodes_{};
  std::function<void(size_t)> on_fire_;
};

using Fired = std::vector<size_t>;

TEST_F(TimerWheelTest, FiresAtTheDeadlineNeverBefore) {
  arm(0, 25);  // due at 25 ms: the first boundary at or after it is 30 ms
  EXPECT_EQ(at(24), Fired{});
  EXPECT_EQ(at(29), Fired{});
  EXPECT_EQ(at(30), Fired{0});
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, FiresEachTimerOnce) {
  arm(0, 10);
  arm(1, 10);
  EXPECT_EQ(at(10), (Fired{0, 1}));
  EXPECT_EQ(at(100), Fired{});
  EXPECT_EQ(at(1000), Fired{});
}

TEST_F(TimerWheelTest, ZeroDelayWaitsForTheNextTick) {
  arm(0, 0);
  EXPECT_EQ(at(0), Fired{});
  EXPECT_EQ(at(10), Fired{0});
}

TEST_F(TimerWheelTest, DelayCountsFromTheLastAdvance) {
  EXPECT_EQ(at(47), Fired{});
  arm(0, 13);  // due at 60
  EXPECT_EQ(at(59), Fired{});
  EXPECT_EQ(at(60), Fired{0});
}

TEST_F(TimerWheelTest, FiresInDeadlineOrder) {
  arm(0, 50);
  arm(1, 20);
  arm(2, 40);
  arm(3, 30);
  EXPECT_EQ(at(60), (Fired{1, 3, 2, 0}));
}

TEST_F(TimerWheelTest, CancelledTimerNeverFires) {
  arm(0, 20);
  arm(1, 20);
  wheel_.cancel(nodes_[0]);
  EXPECT_FALSE(TimerWheel::armed(nodes_[0]));
  EXPECT_EQ(wheel_.size(), 1u);
  EXPECT_EQ(at(100), Fired{1});
}

TEST_F(TimerWheelTest, CancelOfUnarmedNodeIsANoOp) {
  wheel_.cancel(nodes_[0]);
  arm(1, 10);
  wheel_.cancel(nodes_[0]);
  EXPECT_EQ(wheel_.size(), 1u);
  EXPECT_EQ(at(10), Fired{1});
}

TEST_F(TimerWheelTest, RescheduleMovesTheDeadline) {
  arm(0, 20);
  arm(0, 70);
  EXPECT_EQ(wheel_.size(), 1u);
  EXPECT_EQ(at(60), Fired{});
  EXPECT_EQ(at(70), Fired{0});
}

TEST_F(TimerWheelTest, CallbackCanRearmTheExpiredTimer) {
  on_fire_ = [&](size_t i) { arm(i, 30); };
  arm(0, 10);
  EXPECT_EQ(at(10), Fired{0});
  EXPECT_TRUE(TimerWheel::armed(nodes_[0]));
  EXPECT_EQ(at(39), Fired{});
  EXPECT_EQ(at(40), Fired{0});
}

TEST_F(TimerWheelTest, CallbackRearmDoesNotFireAgainInTheSameAdvance) {
  on_fire_ = [&](size_t i) { arm(i, 0); };
  arm(0, 10);
  EXPECT_EQ(at(500), Fired{0});
  EXPECT_EQ(at(510), Fired{0});
}

TEST_F(TimerWheelTest, CallbackCanCancelATimerDueInTheSameSlot) {
  on_fire_ = [&](size_t i) { wheel_.cancel(nodes_[i == 0 ? 1 : 0]); };
  arm(0, 10);
  arm(1, 10);
  EXPECT_EQ(at(10), Fired{0});
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, CallbackCanRescheduleAnotherPendingTimer) {
  on_fire_ = [&](size_t i) {
    if (i == 0) arm(1, 100);
  };
  arm(0, 10);
  arm(1, 10);
  EXPECT_EQ(at(10), Fired{0});
  EXPECT_EQ(at(109), Fired{});
  EXPECT_EQ(at(110), Fired{1});
}

TEST_F(TimerWheelTest, DelaysLongerThanARotationWaitTheirTurn) {
  arm(0, 85);   // same slot as tick 1 (10 ms), one rotation later
  arm(1, 250);  // three rotations out
  arm(2, 10);
  EXPECT_EQ(at(10), Fired{2});
  EXPECT_EQ(at(80), Fired{});
  EXPECT_EQ(at(90), Fired{0});
  EXPECT_EQ(at(249), Fired{});
  EXPECT_EQ(at(250), Fired{1});
}

TEST_F(TimerWheelTest, StallLongerThanARotationFiresEverythingOverdue) {
  arm(0, 10);
  arm(1, 75);
  arm(2, 300);
  arm(3, 1000);
  const Fired fired = at(400);
  EXPECT_EQ(fired.size(), 3u);
  EXPECT_EQ(wheel_.size(), 1u);
  EXPECT_TRUE(TimerWheel::armed(nodes_[3]));
  EXPECT_EQ(at(1000), Fired{3});
}

TEST_F(TimerWheelTest, GoingBackInTimeIsIgnored) {
  EXPECT_EQ(at(50), Fired{});
  arm(0, 20);
  EXPECT_EQ(at(10), Fired{});
  EXPECT_EQ(at(70), Fired{0});
}

TEST_F(TimerWheelTest, NextTimeoutIsNulloptWhenIdle) {
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), std::nullopt);
  arm(0, 10);
  wheel_.cancel(nodes_[0]);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), std::nullopt);
}

TEST_F(TimerWheelTest, NextTimeoutPointsAtTheEarliestTick) {
  arm(0, 45);
  arm(1, 25);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), 30u);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin + 7), 23u);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin + 31), 0u);
  wheel_.cancel(nodes_[1]);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), 50u);
}

TEST_F(TimerWheelTest, NextTimeoutSeesTimersBeyondOneRotation) {
  arm(0, 500);
  arm(1, 300);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), 300u);
  at(300);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin + 300), 200u);
}

TEST_F(TimerWheelTest, NextTimeoutFollowsANewEarlierTimer) {
  arm(0, 500);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), 500u);
  arm(1, 20);
  EXPECT_EQ(wheel_.next_timeout_ms(kOrigin), 20u);
}

TEST(TimerWheel, DestructorLeavesNodesUnarmed) {
  TimerNode n;
  {
    TimerWheel wheel(kTick, kSlots, 0);
    wheel.schedule(n, 100);
    EXPECT_TRUE(TimerWheel::armed(n));
  }
  EXPECT_FALSE(TimerWheel::armed(n));
}

TEST(TimerWheel, MonotonicClockDoesNotGoBack) {
  const uint64_t a = monotonic_ms();
  const uint64_t b = monotonic_ms();
  EXPECT_GT(a, 0u);
  EXPECT_LE(a, b);
}

// Reference model: the spec of when a timer fires, kept in a std::multimap
// keyed by due tick (ticks counted from kOrigin).
class ModelWheel {
 public:
  using Map = std::multimap<uint64_t, size_t>;
  void schedule(size_t id, uint64_t now, uint64_t delay) {
    cancel(id);
    const uint64_t due = std::max((now + delay + kTick - 1) / kTick, now / kTick + 1);
    where_[id] = map_.emplace(due, id);
    due_ms_[id] = now + delay;
  }
  void cancel(size_t id) {
    if (!where_[id]) return;
    map_.erase(*where_[id]);
    where_[id].reset();
  }
  // Checks that `id` may fire at `now` and removes it.
  void expect_fires(size_t id, uint64_t now) {
    EXPECT_LE((*where_[id])->first, now / kTick) << "fired early: " << id;
    EXPECT_GE(now, due_ms_[id]) << "fired before its due time: " << id;
    cancel(id);
  }
  bool armed(size_t id) const { return where_[id].has_value(); }
  uint64_t due_tick(size_t id) const { return (*where_[id])->first; }
  bool any_due(uint64_t now) const { return !map_.empty() && map_.begin()->first <= now / kTick; }
  std::optional<uint64_t> next_timeout(uint64_t now) const {
    if (map_.empty()) return std::nullopt;
    const uint64_t due = map_.begin()->first * kTick;
    return due > now ? due - now : 0;
  }
  size_t size() const { return map_.size(); }

 private:
  Map map_;
  std::array<std::optional<Map::iterator>, kNodes> where_{};
  std::array<uint64_t, kNodes> due_ms_{};
};

// Random schedule/cancel/advance traffic, including callbacks that re-arm
// and cancel, checked step by step against the model.
class RandomTraffic {
 public:
  explicit RandomTraffic(uint64_t seed) : rng_(seed) {}
  ~RandomTraffic() {
    for (TimerNode& n : nodes_) wheel_.cancel(n);
  }

  void step() {
    const uint64_t op = pick(100);
    const size_t id = pick(kNodes);
    if (op < 50) {
      schedule(id);
    } else if (op < 65) {
      cancel(id);
    } else {
      advance();
    }
    ASSERT_EQ(wheel_.size(), model_.size());
    ASSERT_EQ(wheel_.next_timeout_ms(kOrigin + now_), model_.next_timeout(now_));
  }

 private:
  uint64_t pick(uint64_t n) { return rng_() % n; }
  void schedule(size_t id) {
    const uint64_t d = pick(10) == 0 ? pick(2000) : pick(200);
    wheel_.schedule(nodes_[id], d);
    model_.schedule(id, now_, d);
  }
  void cancel(size_t id) {
    wheel_.cancel(nodes_[id]);
    model_.cancel(id);
  }
  void advance() {
    const uint64_t step = pick(50) == 0 ? pick(400) : pick(40);
    now_ += step;
    const bool in_order = step < kTick * kSlots;
    uint64_t last_due = 0;
    wheel_.advance(kOrigin + now_, [&](TimerNode& n) {
      const size_t id = static_cast<size_t>(&n - nodes_.data());
      if (!model_.armed(id)) {
        ADD_FAILURE() << "fired but not armed: " << id;
        return;
      }
      if (in_order) {
        EXPECT_GE(model_.due_tick(id), last_due) << "out of order";
      }
      last_due = model_.due_tick(id);
      model_.expect_fires(id, now_);
      if (pick(3) == 0) schedule(id);
      if (pick(10) == 0) cancel(pick(kNodes));
    });
    ASSERT_FALSE(model_.any_due(now_)) << "a due timer did not fire";
  }

  std::mt19937_64 rng_;
  TimerWheel wheel_{kTick, kSlots, kOrigin};
  std::array<TimerNode, kNodes> nodes_{};
  ModelWheel model_;
  uint64_t now_ = 0;
};

TEST(TimerWheel, RandomTrafficMatchesAMultimapModel) {
  for (uint64_t seed : {1u, 2u, 3u, 42u}) {
    SCOPED_TRACE(seed);
    RandomTraffic traffic(seed);
    for (int step = 0; step < 20000 && !HasFatalFailure(); ++step) {
      SCOPED_TRACE(step);
      traffic.step();
    }
  }
}

}  // namespace
}  // namespace ringchat::core
