#pragma once

#include "io/dtype.h"

#include <cstdint>

namespace ckpt {

// Element values as doubles, exact for every dtype a checkpoint can hold: float16/bfloat16/float8 (with
// subnormals, infinities and NaNs as each format defines them), integers, bool. Complex dtypes decode to the
// magnitude |z| (NaN when either part is NaN, Inf when either part is infinite).
//
// Decodes `n` elements starting at `src`, `strideBytes` apart, into `out`; `swap` byte-swaps big-endian data.
void decodeElements(DType type, const std::uint8_t* src, std::int64_t n, std::int64_t strideBytes, bool swap, double* out);

double halfToDouble(std::uint16_t bits);
double bfloat16ToDouble(std::uint16_t bits);
double float8ToDouble(DType type, std::uint8_t bits);

// True for the dtypes decodeElements understands (not the packed quantized ones).
bool dtypeDecodable(DType type);

} // namespace ckpt
