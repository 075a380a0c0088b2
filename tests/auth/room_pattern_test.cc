#include "ringchat/auth/room_pattern.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>

namespace ringchat::auth {
namespace {

// A plain recursive matcher, exponential but obviously right: the reference
// for the random test.
bool reference(std::string_view p, std::string_view r) {
  if (p.empty()) return r.empty();
  if (p[0] == '*') {
    for (size_t k = 0; k <= r.size(); ++k) {
      if (reference(p.substr(1), r.substr(k))) return true;
    }
    return false;
  }
  return !r.empty() && p[0] == r[0] && reference(p.substr(1), r.substr(1));
}

// The bound room_pattern.h promises.
size_t step_bound(std::string_view p, std::string_view r) {
  return (p.size() + 1) * (r.size() + 2);
}

TEST(PatternMatches, LiteralPatternsMatchOnlyThemselves) {
  EXPECT_TRUE(pattern_matches("lobby", "lobby"));
  EXPECT_FALSE(pattern_matches("lobby", "lobby2"));
  EXPECT_FALSE(pattern_matches("lobby", "lobb"));
  EXPECT_FALSE(pattern_matches("lobby", "Lobby"));
  EXPECT_TRUE(pattern_matches("", ""));
  EXPECT_FALSE(pattern_matches("", "a"));
}

TEST(PatternMatches, StarAloneGrantsEverything) {
  for (const char* room : {"", "a", "lobby", "team/a/b", "*", "x.y:z@w-1"}) {
    EXPECT_TRUE(pattern_matches("*", room)) << room;
    EXPECT_TRUE(pattern_matches("**", room)) << room;
  }
}

TEST(PatternMatches, PrefixPatternDoesNotGrantOtherRooms) {
  EXPECT_TRUE(pattern_matches("a*", "a"));
  EXPECT_TRUE(pattern_matches("a*", "abc"));
  EXPECT_FALSE(pattern_matches("a*", "b"));
  EXPECT_FALSE(pattern_matches("a*", "ba"));
  EXPECT_FALSE(pattern_matches("team-*", "team"));
  EXPECT_TRUE(pattern_matches("team-*", "team-"));
}

TEST(PatternMatches, StarCrossesSlashesAndMatchesEmpty) {
  EXPECT_TRUE(pattern_matches("team-*", "team-a/b/c"));
  EXPECT_TRUE(pattern_matches("a*b", "ab"));
  EXPECT_TRUE(pattern_matches("a*b", "a/x/b"));
  EXPECT_FALSE(pattern_matches("a*b", "a/x/bc"));
}

TEST(PatternMatches, SuffixAndInfixPatterns) {
  EXPECT_TRUE(pattern_matches("*-ops", "eu-ops"));
  EXPECT_FALSE(pattern_matches("*-ops", "eu-ops2"));
  EXPECT_TRUE(pattern_matches("*.private.*", "team.private.x"));
  EXPECT_FALSE(pattern_matches("*.private.*", "team.public.x"));
  EXPECT_TRUE(pattern_matches("a*a", "aa"));
  EXPECT_FALSE(pattern_matches("a*a", "a"));
  EXPECT_TRUE(pattern_matches("*ab", "aab"));  // needs the star to give back
}

TEST(PatternMatches, NothingEscapes) {
  // A backslash is a byte like any other, and `*` in a pattern is always a
  // wildcard: `\*` is a backslash then anything.
  EXPECT_TRUE(pattern_matches("a\\*", "a\\"));
  EXPECT_TRUE(pattern_matches("a\\*", "a\\xyz"));
  EXPECT_FALSE(pattern_matches("a\\*", "a*"));
  EXPECT_FALSE(pattern_matches("a\\*", "ab"));
  EXPECT_FALSE(pattern_matches("a?", "ab"));  // no other metacharacter
  EXPECT_TRUE(pattern_matches("a?", "a?"));
  EXPECT_FALSE(pattern_matches("[ab]", "a"));
}

TEST(PatternMatches, StarInTheRoomIsAnOrdinaryByte) {
  EXPECT_FALSE(pattern_matches("a", "*"));
  EXPECT_FALSE(pattern_matches("ab", "a*"));
  EXPECT_TRUE(pattern_matches("a*", "a*"));  // through the wildcard
  EXPECT_FALSE(pattern_matches("a*c", "a*"));
}

TEST(PatternMatches, PathologicalPatternsTakeBoundedSteps) {
  const std::string room(4096, 'a');
  const std::pair<std::string_view, bool> cases[] = {
      {"*a*a*a*a*b", false},
      {"*a*a*a*a*a*a*a*a*a*a*a*a*b", false},
      {"a*a*a*a*a*a*a*a*a*a*", true},
      {"*a*a*a*a*", true},
  };
  for (const auto& [p, want] : cases) {
    size_t steps = 0;
    EXPECT_EQ(pattern_matches_counted(p, room, steps), want) << p;
    // Short literal runs: linear, a few steps per room byte, where plain
    // backtracking would take about |room|^(stars) steps.
    EXPECT_LE(steps, 4 * (room.size() + p.size())) << p;
  }
  // A long literal run after a star is the worst case, still within the bound.
  const std::string worst = "*" + std::string(255, 'a') + "b";
  size_t steps = 0;
  EXPECT_FALSE(pattern_matches_counted(worst, room, steps));
  EXPECT_LE(steps, step_bound(worst, room));
}

TEST(PatternMatches, AgreesWithTheReferenceOnRandomInputs) {
  std::mt19937 rng(42);
  const char alphabet[] = {'a', 'b', '*'};
  for (int i = 0; i < 20000; ++i) {
    std::string p(rng() % 8, 'a');
    std::string r(rng() % 10, 'a');
    for (char& c : p) c = alphabet[rng() % 3];
    for (char& c : r) c = alphabet[rng() % 3];  // rooms with literal `*` too
    size_t steps = 0;
    ASSERT_EQ(pattern_matches_counted(p, r, steps), reference(p, r)) << p << " vs " << r;
    ASSERT_LE(steps, step_bound(p, r)) << p << " vs " << r;
  }
}

}  // namespace
}  // namespace ringchat::auth
