// When the tracer looks for more pending notifications (sensor/receive.hpp).
// (Signals during notifications end to end: tests/shell/run_signal_storm.sh.)
#include <catch2/catch.hpp>

#include "sensor/receive.hpp"

using vigil::ReceivePolicy;

TEST_CASE("the tracer stops looking for more notifications only after a lone thread's streak", "[receive]") {
  ReceivePolicy p;
  for (unsigned i = 1; i < ReceivePolicy::kStreak; ++i) REQUIRE(p.look(100));
  CHECK_FALSE(p.look(100));  // kStreak calls of one thread, no other found: no look
  CHECK_FALSE(p.look(100));

  SECTION("another thread's notification: looks again, for a whole streak") {
    CHECK(p.look(101));
    for (unsigned i = 2; i < ReceivePolicy::kStreak; ++i) REQUIRE(p.look(101));
    CHECK_FALSE(p.look(101));
  }
  SECTION("a look that found one pending: looks again") {
    p.found();
    CHECK(p.look(100));
  }
}

TEST_CASE("threads that take turns are always looked after", "[receive]") {
  ReceivePolicy p;
  for (unsigned i = 0; i < 10 * ReceivePolicy::kStreak; ++i) REQUIRE(p.look(i % 2 ? 200 : 201));
}
