#include "probes/probes.hpp"
