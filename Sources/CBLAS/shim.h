// CBLAS + LAPACKE from Debian's libopenblas-dev and liblapacke-dev.
// Only SeqRecCore/Kernels imports this module.
#include <cblas.h>
#include <lapacke.h>
