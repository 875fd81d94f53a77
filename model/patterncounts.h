#pragma once

#include "model/elementview.h"

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

namespace ckpt {

// Dtypes of at most 16 bits (bfloat16, float16, float8, int8/16, uint8/16, bool) have at most 65,536 bit
// patterns. Histograms and statistics of a large such tensor count each pattern in one pass (one increment per
// element), then visit each distinct value once with its count: exact (every element gets the rule the element
// path applies to it) and one pass even where the element path needs two (a histogram's automatic range).

// True for those dtypes when the tensor is large enough (4x its pattern count) for the table to pay off.
bool patternCountable(const ElementView& v);

// The count of each bit pattern, indexed by the pattern's bytes as they lie in memory read as a little-endian
// integer. Empty when cancelled. With afterWindow, the pass goes in scan windows (parallelWindows) and calls it
// after each: a caller releases the window's pages there.
std::optional<std::vector<std::int64_t>> countPatterns(const ElementView& v, int workers, const std::atomic<bool>* cancel,
    const std::function<void(std::int64_t begin, std::int64_t count)>& afterWindow = {});

// The decoded value of each pattern (same indexing), with the view's dtype and byte order.
std::vector<double> patternValues(const ElementView& v);

} // namespace ckpt
