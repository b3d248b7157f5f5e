// Internal to wrapper/: PID-1 duty of `vigil run` (tini style): forward
// signals to the app, stop with it for job control, exit with its status.
#pragma once

#include <sys/types.h>

namespace vigil::pid1 {

// Catches every forwardable signal (blocked until set_target). Call once,
// after the app's process is forked (it keeps the original dispositions).
void install();
// From now on forwarded signals go to pid (then unblocks them).
void set_target(pid_t pid);
// The app's main process entered a group-stop with sig: if this process was
// asked to stop too (tty ^Z, kill -TSTP to the job), stop with SIGTSTP until
// SIGCONT. (Terminal SIGTTIN/SIGTTOU stop this process by their default action.)
void on_app_stopped(int sig);
// Exit code for the app's wait status: its code, or 128+N for signal N.
int exit_code(int wait_status);

}  // namespace vigil::pid1
