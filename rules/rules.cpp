#include <cstdio>

#include "rules/rules.hpp"

namespace vigil {
int cmd_rules(int, char**) {
  std::fprintf(stderr, "vigil: 'cmd_rules' is not implemented yet\n");
  return 2;
}
}  // namespace vigil
