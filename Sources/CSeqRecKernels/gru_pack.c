// The packed layout of a GRU's recurrent weights (CSeqRecKernels.h): panels of 16 hidden units, each
// panel p-major with the r, z, n pieces side by side, so one step streams W_hh once, sequentially, and
// a panel's 3 × 16 weights for one input unit are three aligned-width vector loads.
#include "CSeqRecKernels.h"

size_t seqrec_gru_packed_count(long d) {
    if (d <= 0) return 0;
    return (size_t)((d + 15) / 16) * (size_t)d * 48;
}

void seqrec_gru_pack(long d, const float *w_hh, float *packed) {
    const long panels = (d + 15) / 16;
    for (long q = 0; q < panels; q++) {
        for (long p = 0; p < d; p++) {
            float *out = packed + (q * d + p) * 48;
            for (long g = 0; g < 3; g++) {
                for (long u = 0; u < 16; u++) {
                    const long unit = 16 * q + u;
                    out[16 * g + u] = unit < d ? w_hh[(g * d + unit) * d + p] : 0.0f;
                }
            }
        }
    }
}
