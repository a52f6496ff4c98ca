// Linux-only headers the toolchain's Glibc module leaves out; used only by the SeqRecPosix target.
#ifndef SEQREC_CLINUX_SHIM_H
#define SEQREC_CLINUX_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <malloc.h>
#include <sched.h>

// SCHED_IDLE (Linux 2.6.23+) is declared by <sched.h> only under _GNU_SOURCE; the value is the
// kernel's ABI (include/uapi/linux/sched.h).
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
static const int seqrec_sched_idle = SCHED_IDLE;

// accept4 is a GNU extension, declared by <sys/socket.h> only under _GNU_SOURCE.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
