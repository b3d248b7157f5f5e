// Path normalisation for file events: the absolute, lexically normalised path
// from the directory a syscall is relative to (cwd or a dirfd's path) and the
// raw path the process passed. Lexical only: symlinks are not followed (the
// traced process's view may differ from the sensor's, and it may race).
#pragma once

#include <string>
#include <string_view>

namespace vigil {

// Joins base and raw (raw wins when absolute), then collapses "//", "." and
// ".." (".." at "/" stays "/"). An empty raw gives base (AT_EMPTY_PATH).
// No length limit: paths longer than PATH_MAX are kept whole.
// If the result cannot be absolute (relative raw, unknown or relative base),
// returns the normalised relative path; callers test path[0] == '/'.
std::string normalize_path(std::string_view base, std::string_view raw);

}  // namespace vigil
