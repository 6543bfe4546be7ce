#include "hadmc/edge/state_machine.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace hadmc::edge {
namespace {

State Walk(State s, std::initializer_list<Event> events) {
  for (Event e : events) {
    auto next = Next(s, e);
    EXPECT_TRUE(next) << next.error().String();
    if (!next) return s;
    s = *next;
  }
  return s;
}

TEST(StateMachineTest, HappyPathIsTheDesignsLoop) {
  EXPECT_EQ(Walk(State::kIdle, {Event::kPollDue, Event::kUpdateAvailable, Event::kDownloaded,
                               Event::kVerified, Event::kLoaded, Event::kSwapped,
                               Event::kProbationPassed, Event::kReported}),
            State::kIdle);
  EXPECT_EQ(Walk(State::kIdle, {Event::kPollDue, Event::kNoUpdate}), State::kIdle);
}

TEST(StateMachineTest, FailuresBeforeTheSwapReportAndReturnToIdle) {
  for (State s : {State::kCheckUpdate, State::kDownload, State::kVerify, State::kLoad, State::kSwap}) {
    auto next = Next(s, Event::kError);
    ASSERT_TRUE(next) << StateName(s);
    EXPECT_EQ(*next, State::kFailure) << StateName(s);
  }
  EXPECT_EQ(Walk(State::kFailure, {Event::kReported}), State::kIdle);
}

TEST(StateMachineTest, ProbationFailureAndTheOperatorRollBack) {
  EXPECT_EQ(Walk(State::kProbation, {Event::kProbationFailed, Event::kRolledBack, Event::kReported}),
            State::kIdle);
  EXPECT_EQ(Walk(State::kIdle, {Event::kRollbackCommand, Event::kRolledBack}), State::kReport);
  EXPECT_EQ(Walk(State::kRollback, {Event::kError, Event::kReported}), State::kIdle);
}

TEST(StateMachineTest, StopFromAnywhereAndUnknownPairsAreErrors) {
  for (State s : {State::kIdle, State::kDownload, State::kSwap, State::kProbation, State::kFailure}) {
    auto next = Next(s, Event::kStop);
    ASSERT_TRUE(next);
    EXPECT_EQ(*next, State::kStopped);
  }
  EXPECT_FALSE(Next(State::kIdle, Event::kSwapped));       // cannot swap without loading
  EXPECT_FALSE(Next(State::kDownload, Event::kLoaded));    // cannot load before verifying
  EXPECT_FALSE(Next(State::kStopped, Event::kPollDue));
  auto err = Next(State::kVerify, Event::kSwapped);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message().find("verify"), std::string::npos);
}

TEST(StateMachineTest, TableHasNoDuplicatesAndEveryStateLeadsBackToIdle) {
  std::set<std::pair<State, Event>> seen;
  std::map<State, std::set<State>> edges;
  for (const Transition& t : Transitions()) {
    EXPECT_TRUE(seen.insert({t.from, t.event}).second)
        << StateName(t.from) << " on " << EventName(t.event) << " twice";
    edges[t.from].insert(t.to);
  }
  for (const auto& [from, tos] : edges) {
    std::set<State> reach = {from};
    for (bool grew = true; grew;) {
      grew = false;
      for (State s : std::set<State>(reach))
        for (State t : edges[s]) grew |= reach.insert(t).second;
    }
    EXPECT_TRUE(reach.count(State::kIdle)) << StateName(from) << " never returns to idle";
  }
}

}  // namespace
}  // namespace hadmc::edge
