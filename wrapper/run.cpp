#include <cstdio>

#include "wrapper/wrapper.hpp"

namespace vigil {
int cmd_run(int, char**) {
  std::fprintf(stderr, "vigil run: not implemented yet\n");
  return 2;
}
}  // namespace vigil
