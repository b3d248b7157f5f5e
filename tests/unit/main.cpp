// Catch2's main() for the unit-test binary; the test cases and their
// assertions (REQUIRE/CHECK) are in the other tests/unit/*.cpp files.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
