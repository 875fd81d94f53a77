#pragma once

#include "io/checkpoint.h"

#include <functional>
#include <vector>

namespace ckpt {

// A tensor's elements where they lie in the memory map, with dimensions that can be walked as one merged
// (e.g. a contiguous tensor is one run). Plain value: safe to hand to worker threads while the checkpoint lives.
struct ElementView {
    const std::uint8_t* base = nullptr; // element (0, ..., 0)
    DType dtype = DType::Unknown;
    int itemSize = 1;
    std::vector<std::int64_t> shape;   // merged dimensions, at least one
    std::vector<std::int64_t> stride;  // in elements
    std::int64_t numel = 0;
    bool swap = false;                 // big-endian file
};

Expected<ElementView> elementView(const Checkpoint& ck, int tensor);

// For passes over every element (statistics, histograms, comparisons): like elementView, but refuses a view that
// repeats its storage (zero strides, torch.expand) into more than 1 GiB of elements beyond what the storage holds;
// a 1 KB file can declare 2^40 repeats of one value, which would take hours to visit.
Expected<ElementView> elementViewForScan(const Checkpoint& ck, int tensor);

// Decodes elements [begin, begin + count) in row-major logical order into `out` (see decodeElements).
void decodeRange(const ElementView& v, std::int64_t begin, std::int64_t count, double* out);

// The raw bytes of elements [begin, begin + count) in row-major order, as stored (no byte swapping).
void gatherRange(const ElementView& v, std::int64_t begin, std::int64_t count, std::uint8_t* out);

// True when the elements lie in one dense run (row-major order is storage order).
inline bool isDense(const ElementView& v)
{
    return v.shape.size() == 1 && v.stride.front() == 1;
}

// After a pass over a tensor: its mapped pages leave the resident set (they stay in the page cache), so that a pass
// over every tensor of a multi-GB file holds about one tensor resident, not the file. Only a file's own mapped
// pages, never an inflated copy on the heap (which releasing would zero); strided views are left alone.
void releaseScannedPages(const Checkpoint& ck, int tensor, const ElementView& v);

// The same for elements [begin, begin + count) only, for parallelWindows' afterWindow: a scan releases each window
// as it is done. Empty (nothing to release) where releaseScannedPages would leave the tensor alone.
std::function<void(std::int64_t begin, std::int64_t count)> scannedPagesReleaser(
    const Checkpoint& ck, int tensor, const ElementView& v);

// How many elements of `v` a scan window holds: 32 MiB of its bytes. What a pass keeps resident of a mapped tensor
// (with a worker's chunk of the next window), against a pass that spans the whole tensor (205 MB for GPT-2's
// embedding, tens of GB for a large model's).
std::int64_t scanWindowElements(const ElementView& v);

} // namespace ckpt
