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
    // Two steps get the same here, for mimalloc 2.x (32 MiB segments, each aligned to its size):
    if (qEnvironmentVariableIsSet("MIMALLOC_LARGE_OS_PAGES") || mi_version() / 100 != 2)
        return; // the user chose, or a layout this was not measured on
    constexpr size_t kSegment = size_t(32) << 20;
    // 1. The segment mimalloc took before main(), which serves the first 32 MiB of small allocations, is advised
    //    onto transparent huge pages (its pages touched so far keep their 4 KiB).
    void* probe = mi_malloc(16);
    madvise(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(probe) & ~(kSegment - 1)), kSegment, MADV_HUGEPAGE);
    mi_free(probe);
    // 2. Later segments come from an arena of address space advised the same way, reserved but not committed
    //    (MAP_NORESERVE): its pages cost memory once touched. When it is used up, mimalloc asks the OS as usual.
    constexpr size_t kArena = size_t(1) << 30;
    void* raw = mmap(nullptr, kArena + kSegment, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return;
    void* arena = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(raw) + kSegment - 1) & ~(kSegment - 1));
    // Not committed: mimalloc then decommits what is freed, so the resident set falls back after a large file is
    // closed (given as committed, it would keep its peak for the process's life).
    if (madvise(arena, kArena, MADV_HUGEPAGE) != 0 || !mi_manage_os_memory(arena, kArena, false, false, true, -1))
        munmap(raw, kArena + kSegment);
#endif
}

QString allocatorName()
{
#if CKPTLENS_WITH_MIMALLOC
    const int v = mi_version(); // e.g. 209 for 2.0.9
    return QStringLiteral("mimalloc %1.%2.%3%4")
        .arg(v / 100)
        .arg(v / 10 % 10)
        .arg(v % 10)
        .arg(QString());
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
