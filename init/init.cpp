#include <cstdio>

#include "init/init.hpp"

namespace vigil {
int cmd_init(int, char**) {
  std::fprintf(stderr, "vigil: 'cmd_init' is not implemented yet\n");
  return 2;
}
}  // namespace vigil
