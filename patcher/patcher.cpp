#include <cstdio>

#include "patcher/patcher.hpp"

namespace vigil {
int cmd_patch(int, char**) {
  std::fprintf(stderr, "vigil: 'cmd_patch' is not implemented yet\n");
  return 2;
}
}  // namespace vigil
