// C support for the benchmarks: the malloc-counting interposer and the Linux headers the
// toolchain's Glibc module leaves out (epoll, timerfd), used by the load generator's event loop.
#ifndef SEQREC_CBENCHSUPPORT_H
#define SEQREC_CBENCHSUPPORT_H

#include "MallocCounter.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>

#endif
