// vigil patch: turn an ECS task definition (or CloudFormation template) into a sensored one.
#pragma once

namespace vigil {
int cmd_patch(int argc, char** argv);
}
