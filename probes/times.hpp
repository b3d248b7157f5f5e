// The times a times row (utimensat, futimesat, utimes, utime) asks the
// kernel to set, read from the caller's memory in its ABI's layout and
// converted as the kernel converts them (fs/utimes.c). Read once: where vigil
// performs the call (sensor/perform.cpp) it sets these very times, so a
// thread that rewrites the struct after the read changes nothing.
#pragma once

#include <time.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::probes {

class TraceeMemory;
struct SyscallArgs;

struct Times {
  timespec ts[2]{};  // atime, mtime, as utimensat(2) takes them (UTIME_NOW, UTIME_OMIT included)
  int err = 0;       // what the kernel answers before any lookup: EINVAL (utimes' microseconds out of range)
  bool nothing = false;  // utimensat with both UTIME_OMIT: the kernel answers 0 without looking the path up
};

// The bytes at the times pointer of `type` (a times row's event type) for an
// i386 caller (compat: 32-bit fields) or a native one: their size, and the
// times they ask for.
size_t times_size(std::string_view type, bool compat);
Times parse_times(std::string_view type, bool compat, const void* bytes);
// The times of the call a (its times pointer), read once; false if unreadable.
bool read_times(const TraceeMemory& mem, const SyscallArgs& a, std::string_view type, Times* out);
// evt.arg.atime / evt.arg.mtime: "now", "omit", or seconds.nanoseconds ("1500000000.000000000").
std::string time_arg(const timespec& t);

}  // namespace vigil::probes
