// vigil rules: Falco-compatible rules engine.
#pragma once

namespace vigil {
int cmd_rules(int argc, char** argv);
}
