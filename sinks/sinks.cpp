#include <cstdio>

#include "sinks/sinks.hpp"

namespace vigil {
int cmd_check(int, char**) {
  std::fprintf(stderr, "vigil: 'cmd_check' is not implemented yet\n");
  return 2;
}
}  // namespace vigil
