#include "app/allocator.h"

#include "ckptlens-config.h"

#include <QtGlobal>

#include <cstddef>
#include <cstdint>
#include <new>

#include <sys/mman.h>

#if CKPTLENS_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace ckpt {

void tuneAllocator()
{
#if CKPTLENS_WITH_MIMALLOC && defined(MADV_HUGEPAGE)
    // mimalloc decides on large OS pages once, when it starts (MIMALLOC_LARGE_OS_PAGES=1): too early for main().
    if (qEnvironmentVariableIsSet("MIMALLOC_LARGE_OS_PAGES") || mi_version() / 100 != 2)
        return; // the user chose, or a layout this was not measured on
    // The segment mimalloc took before main() (mimalloc 2.x: 32 MiB, aligned to its size), which serves the first
    // 32 MiB of small allocations, is advised onto transparent huge pages (its pages touched so far keep 4 KiB).
    // Only this one: huge pages for every later segment (an arena of them, handed to mi_manage_os_memory) made
    // the GUI's open of 60,000 tensors 2.5-3x slower (each thread's heap zeroing its own 2 MiB pages, taken from
    // the host's coldest memory on a VM) for no gain in the CLI's median (BENCHMARKS.md, session 6).
    constexpr size_t kSegment = size_t(32) << 20;
    void* probe = mi_malloc(16);
    madvise(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(probe) & ~(kSegment - 1)), kSegment, MADV_HUGEPAGE);
    mi_free(probe);
#endif
}

QString allocatorName()
{
#if CKPTLENS_WITH_MIMALLOC
    const int v = mi_version(); // e.g. 209 for 2.0.9
    return QStringLiteral("mimalloc %1.%2.%3").arg(v / 100).arg(v / 10 % 10).arg(v % 10);
#else
    return QStringLiteral("the C library's malloc");
#endif
}

} // namespace ckpt

#if CKPTLENS_WITH_MIMALLOC
// libmimalloc.so's own operator new is C code that aborts when memory runs out, where C++ throws std::bad_alloc:
// the readers turn bad_alloc into a typed "out of memory" error (under ulimit -v, or with overcommit off). These
// definitions, in the program itself, take precedence over the library's.
namespace {
void* newOrThrow(std::size_t n)
{
    if (void* p = mi_malloc(n))
        return p;
    throw std::bad_alloc();
}
void* newAlignedOrThrow(std::size_t n, std::align_val_t a)
{
    if (void* p = mi_malloc_aligned(n, static_cast<std::size_t>(a)))
        return p;
    throw std::bad_alloc();
}
} // namespace

void* operator new(std::size_t n) { return newOrThrow(n); }
void* operator new[](std::size_t n) { return newOrThrow(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return mi_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return mi_malloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return newAlignedOrThrow(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return newAlignedOrThrow(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return mi_malloc_aligned(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return mi_malloc_aligned(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { mi_free(p); }
void operator delete[](void* p) noexcept { mi_free(p); }
void operator delete(void* p, std::size_t) noexcept { mi_free(p); }
void operator delete[](void* p, std::size_t) noexcept { mi_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { mi_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { mi_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { mi_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { mi_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { mi_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { mi_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { mi_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { mi_free(p); }
#endif
