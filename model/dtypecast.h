#pragma once

#include "io/dtype.h"

#include <cstdint>

namespace ckpt {

// Conversions exactly as torch's .half() / .bfloat16() / .float() do them on the CPU: float32 to float16 with
// IEEE round-to-nearest-even (c10's fp16_ieee_from_fp32_value), to bfloat16 with c10's round_to_nearest_even
// (NaN becomes 0x7fc0), float64 first to float32 (torch converts through float).
std::uint16_t floatToHalf(float f);
std::uint16_t floatToBFloat16(float f);

// True when tensors of this dtype are cast by an export with --dtype (floating point, not complex).
bool castable(DType t);

// Converts `n` contiguous elements of `from` at `src` into `to` at `dst`; returns how many finite inputs became
// infinite (overflow, e.g. |x| >= 65520 into float16).
std::int64_t castElements(DType from, const std::uint8_t* src, DType to, std::uint8_t* dst, std::int64_t n);

} // namespace ckpt
