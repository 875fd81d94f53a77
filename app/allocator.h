#pragma once

#include <QString>

namespace ckpt {

// Called first in main(), before the program allocates much: with mimalloc, its memory comes in 2 MiB pages
// (transparent huge pages where the kernel offers them). Opening a state dict of 60,000 tensors touches about
// 70 MB of small objects; on 4 KiB pages that took 11,000 page faults, 1,200 on huge pages, and the open's median
// time fell by a sixth (BENCHMARKS.md). Without mimalloc it does nothing.
void tuneAllocator();

// The allocator the program runs on ("mimalloc 2.0.9" or the C library's), for the log.
QString allocatorName();

} // namespace ckpt
