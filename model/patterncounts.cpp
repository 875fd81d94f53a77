#include "model/patterncounts.h"

#include "model/elementdecode.h"
#include "model/parallel.h"

#include <algorithm>
#include <cstring>

namespace ckpt {

bool patternCountable(const ElementView& v)
{
    switch (v.dtype) {
    case DType::BFloat16:
    case DType::Float16:
    case DType::Float8_e4m3fn:
    case DType::Float8_e5m2:
    case DType::Float8_e4m3fnuz:
    case DType::Float8_e5m2fnuz:
    case DType::Int8:
    case DType::UInt8:
    case DType::Int16:
    case DType::UInt16:
    case DType::Bool: return v.itemSize <= 2 && v.numel >= 4 * (std::int64_t(1) << (8 * v.itemSize));
    default: return false;
    }
}

// Counts of each bit pattern (as stored: a big-endian file's patterns are decoded with its byte order below).
std::optional<std::vector<std::int64_t>> countPatterns(const ElementView& v, int workers, const std::atomic<bool>* cancel,
    const std::function<void(std::int64_t, std::int64_t)>& afterWindow)
{
    const size_t patterns = size_t(1) << (8 * v.itemSize);
    // 32-bit counters keep a worker's table in cache; chunks are far below 2^32 elements and are folded into the
    // 64-bit totals before any counter could wrap.
    struct Local {
        std::vector<std::uint32_t> counts;
        std::vector<std::int64_t> total;
        std::vector<std::uint8_t> gathered;
        std::int64_t pending = 0;
    };
    std::vector<Local> local(static_cast<size_t>(workers));
    constexpr std::int64_t kFold = std::int64_t(1) << 31;
    auto fold = [&](Local& l) {
        for (size_t p = 0; p < patterns; ++p)
            l.total[p] += l.counts[p];
        std::fill(l.counts.begin(), l.counts.end(), 0u);
        l.pending = 0;
    };
    const bool dense = isDense(v);
    const std::int64_t window = afterWindow ? scanWindowElements(v) : v.numel;
    if (!parallelWindows(v.numel, std::int64_t(1) << 18, window, workers, [&](std::int64_t begin, std::int64_t count, int w) {
            Local& l = local[size_t(w)];
            if (l.counts.empty()) {
                l.counts.assign(patterns, 0);
                l.total.assign(patterns, 0);
            }
            if (l.pending + count >= kFold)
                fold(l);
            l.pending += count;
            const std::uint8_t* p = v.base + begin * v.itemSize;
            if (!dense) {
                l.gathered.resize(size_t(count * v.itemSize));
                gatherRange(v, begin, count, l.gathered.data());
                p = l.gathered.data();
            }
            std::uint32_t* c = l.counts.data();
            if (v.itemSize == 1) {
                for (std::int64_t i = 0; i < count; ++i)
                    ++c[p[i]];
            } else {
                for (std::int64_t i = 0; i < count; ++i) {
                    std::uint16_t h;
                    std::memcpy(&h, p + 2 * i, 2);
                    ++c[h];
                }
            }
        }, afterWindow, cancel))
        return std::nullopt;
    std::vector<std::int64_t> all(patterns, 0);
    for (Local& l : local) {
        if (l.counts.empty())
            continue;
        fold(l);
        for (size_t p = 0; p < patterns; ++p)
            all[p] += l.total[p];
    }
    return all;
}

std::vector<double> patternValues(const ElementView& v)
{
    const size_t patterns = size_t(1) << (8 * v.itemSize);
    std::vector<std::uint8_t> bits(patterns * size_t(v.itemSize));
    for (size_t p = 0; p < patterns; ++p)
        for (int b = 0; b < v.itemSize; ++b) // byte b of the pattern as it lies in memory
            bits[p * size_t(v.itemSize) + size_t(b)] = std::uint8_t(p >> (8 * b));
    std::vector<double> value(patterns);
    decodeElements(v.dtype, bits.data(), std::int64_t(patterns), v.itemSize, v.swap, value.data());
    return value;
}

} // namespace ckpt
