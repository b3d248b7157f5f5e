// Kernel interfaces newer than Debian 12's headers (linux-libc-dev 6.1):
// defined here once, probed at run time (sensor/kernel.cpp), never assumed.
#pragma once

#include <linux/seccomp.h>

#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e  // Linux 5.3
#endif
// Linux 6.6: the notifying thread and the listener hand over on one CPU
// (a wake-up of an idle CPU costs tens of microseconds on a VM).
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
// Linux 5.19: once vigil has received a notification, only a fatal signal
// interrupts the caller's wait (docs/design.md, "Signals during a notification").
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
