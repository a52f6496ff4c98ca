// Linux-only headers the toolchain's Glibc module leaves out; used only by the SeqRecPosix target.
#ifndef SEQREC_CLINUX_SHIM_H
#define SEQREC_CLINUX_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <malloc.h>

// accept4 is a GNU extension, declared by <sys/socket.h> only under _GNU_SOURCE.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
