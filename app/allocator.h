#pragma once

#include <QString>

namespace ckpt {

// Called first in main(), before the program allocates much: with mimalloc, the first 32 MiB of small objects
// come in 2 MiB pages (transparent huge pages where the kernel offers them). Opening a state dict of 60,000
// tensors makes a million small allocations; with all of them on 4 KiB pages its median time was a third longer
// (BENCHMARKS.md). Without mimalloc it does nothing.
void tuneAllocator();

// The allocator the program runs on ("mimalloc 2.0.9" or the C library's), for the log.
QString allocatorName();

} // namespace ckpt
