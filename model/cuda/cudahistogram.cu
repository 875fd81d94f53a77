// CUDA histogram backend. Element bytes reach the device in 64 MiB chunks, gathered on every core (a pool of
// threads that stay) into two pinned staging buffers, each copied on its own stream, so gathering the next chunk
// overlaps the copy and kernel of the previous one (two 64 MiB buffers measured best of 2..4 x 16..64 MiB on an H200). (Registering the mapped tensor with the driver and copying
// straight from it, CKPTLENS_CUDA_REGISTER=1, was measured slower on an H200: pinning the pages costs more than the
// gather.) With an automatic range the tensor stays on the device after the min/max pass when it fits in half the
// free memory, so it crosses the bus once.
// Elements are decoded on the device (fp16, bf16; fp8 through a table), counted in per-block shared-memory
// histograms (one copy per warp group, to spread the atomics of smooth data) and merged into 64-bit counters.
// (Warp-aggregated atomics, lanes with the same bin adding once, were measured 2-10% slower on an H200.)
// Bin indices use the CPU backend's arithmetic exactly (an index from the scaled offset, corrected against the
// double edges; no fused operations), so both backends give numpy's counts. Any CUDA failure returns an error and
// the caller falls back to the CPU.
#include "model/cuda/cudahistogram.h"
#include "model/cuda/devicecommon.cuh"

#include <unistd.h>

namespace ckpt {

namespace cuda_detail {
DeviceContext& context()
{
    static DeviceContext* ctx = new DeviceContext; // lives as long as the process: the driver frees it at exit
    return *ctx;
}
} // namespace cuda_detail

namespace {
using namespace cuda_detail;

constexpr int kMaxSharedWords = 12000;          // 32-bit counters per block: with the static tally, under the 48 KiB default
constexpr std::int64_t kSegment = 1 << 15;       // elements per block in the many-tensor kernel
constexpr std::int64_t kMaxRegisterBytes = std::int64_t(16) << 30; // pinning more page cache than this could starve the host

// histogramBin() of model/histogram.h, operation for operation.
__device__ __forceinline__ int binOf(double x, const double* edges, int bins, double lo, double hi, double scale)
{
    const double width = __dsub_rn(hi, lo);
    const double f = scale > 0 && scale < 1e300 ? __dmul_rn(__dsub_rn(x, lo), scale)
        : isfinite(width) ? __dmul_rn(__ddiv_rn(__dsub_rn(x, lo), width), double(bins))
                          : __dmul_rn(__ddiv_rn(__dsub_rn(__dmul_rn(x, 0.5), __dmul_rn(lo, 0.5)), __dsub_rn(__dmul_rn(hi, 0.5), __dmul_rn(lo, 0.5))), double(bins));
    int i = f < double(bins) ? int(f) : bins;
    i = min(max(i, 0), bins - 1);
    if (x < edges[i])
        --i;
    else if (x >= edges[i + 1] && i != bins - 1)
        ++i;
    return i;
}

__device__ void atomicMinDouble(double* addr, double v)
{
    unsigned long long* a = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *a;
    while (v < __longlong_as_double(old)) {
        const unsigned long long assumed = old;
        old = atomicCAS(a, assumed, __double_as_longlong(v));
        if (old == assumed)
            break;
    }
}

__device__ void atomicMaxDouble(double* addr, double v)
{
    unsigned long long* a = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *a;
    while (v > __longlong_as_double(old)) {
        const unsigned long long assumed = old;
        old = atomicCAS(a, assumed, __double_as_longlong(v));
        if (old == assumed)
            break;
    }
}

__global__ void minMaxKernel(const unsigned char* data, std::int64_t n, int kind, const double* tables, Counters* c)
{
    double lo = INFINITY, hi = -INFINITY;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
        const double x = decode(data, i, kind, tables);
        if (isfinite(x)) {
            lo = fmin(lo, x);
            hi = fmax(hi, x);
        }
    }
    for (int off = 16; off > 0; off >>= 1) {
        lo = fmin(lo, __shfl_down_sync(0xffffffffu, lo, off));
        hi = fmax(hi, __shfl_down_sync(0xffffffffu, hi, off));
    }
    if ((threadIdx.x & 31) == 0 && lo <= hi) {
        atomicMinDouble(&c->lo, lo);
        atomicMaxDouble(&c->hi, hi);
    }
}

// Counts elements [begin, end) of one tensor (stride `step`) into the block's shared copies (or straight into
// global memory when `copies` is 0: more bins than shared memory holds).
__device__ __forceinline__ void countRange(const unsigned char* data, std::int64_t begin, std::int64_t end, std::int64_t step,
    int kind, const double* tables, const double* edges, int bins, double lo, double hi, double scale, unsigned* local,
    int copies, unsigned long long* counts, unsigned long long* tally)
{
    unsigned long long under = 0, over = 0, nans = 0, infs = 0, zeros = 0;
    unsigned* mine = copies ? local + (int(threadIdx.x >> 5) % copies) * bins : nullptr;
    for (std::int64_t i = begin; i < end; i += step) {
        const double x = decode(data, i, kind, tables);
        if (!(x >= lo && x <= hi)) { // NaN fails both comparisons
            if (isnan(x))
                ++nans;
            else if (isinf(x))
                ++infs;
            else {
                zeros += x == 0;
                ++(x < lo ? under : over);
            }
            continue;
        }
        zeros += x == 0;
        const int b = binOf(x, edges, bins, lo, hi, scale);
        if (mine)
            atomicAdd(&mine[b], 1u);
        else
            atomicAdd(&counts[b], 1ull);
    }
    // tally: under, over, nan, inf, zeros of this block, in shared memory
    if (under)
        atomicAdd(&tally[0], under);
    if (over)
        atomicAdd(&tally[1], over);
    if (nans)
        atomicAdd(&tally[2], nans);
    if (infs)
        atomicAdd(&tally[3], infs);
    if (zeros)
        atomicAdd(&tally[4], zeros);
}

__device__ __forceinline__ void flush(const unsigned* local, int copies, int bins, const unsigned long long* tally,
    unsigned long long* counts, Counters* c)
{
    if (copies)
        for (int b = threadIdx.x; b < bins; b += blockDim.x) {
            unsigned long long sum = 0;
            for (int k = 0; k < copies; ++k)
                sum += local[k * bins + b];
            if (sum)
                atomicAdd(&counts[b], sum);
        }
    if (threadIdx.x == 0) {
        atomicAdd(&c->under, tally[0]);
        atomicAdd(&c->over, tally[1]);
        atomicAdd(&c->nan, tally[2]);
        atomicAdd(&c->inf, tally[3]);
        atomicAdd(&c->zeros, tally[4]);
    }
}

__global__ void histogramKernel(const unsigned char* data, std::int64_t n, int kind, const double* tables, const double* edges,
    int bins, double lo, double hi, double scale, int copies, unsigned long long* counts, Counters* c)
{
    extern __shared__ unsigned local[];
    __shared__ unsigned long long tally[5];
    for (int b = threadIdx.x; b < copies * bins; b += blockDim.x)
        local[b] = 0;
    if (threadIdx.x < 5)
        tally[threadIdx.x] = 0;
    __syncthreads();
    countRange(data, blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x, n, std::int64_t(gridDim.x) * blockDim.x, kind, tables,
        edges, bins, lo, hi, scale, local, copies, counts, tally);
    __syncthreads();
    flush(local, copies, bins, tally, counts, c);
}

// Many-tensor mode: one block per segment; each tensor has its own bins, edges and counters.
struct Segment {
    std::int64_t offset; // bytes into the packed buffer where the tensor starts
    std::int64_t begin, count;
    int item;            // index within the pack
    int kind;
};
struct ItemRange {
    double lo, hi, scale;
};

__global__ void batchKernel(const unsigned char* data, const Segment* segments, const ItemRange* ranges, const double* tables,
    const double* edges, int bins, int copies, unsigned long long* counts, Counters* counters)
{
    extern __shared__ unsigned local[];
    __shared__ unsigned long long tally[5];
    const Segment s = segments[blockIdx.x];
    const ItemRange r = ranges[s.item];
    for (int b = threadIdx.x; b < copies * bins; b += blockDim.x)
        local[b] = 0;
    if (threadIdx.x < 5)
        tally[threadIdx.x] = 0;
    __syncthreads();
    unsigned long long* myCounts = counts + std::int64_t(s.item) * bins;
    const double* myEdges = edges + std::int64_t(s.item) * (bins + 1);
    countRange(data + s.offset, s.begin + threadIdx.x, s.begin + s.count, blockDim.x, s.kind, tables, myEdges, bins, r.lo, r.hi,
        r.scale, local, copies, myCounts, tally);
    __syncthreads();
    flush(local, copies, bins, tally, myCounts, counters + s.item);
}


// Shared copies of the bins a block keeps: up to one per warp, within the shared-memory budget.
int sharedCopies(int bins)
{
    return bins > kMaxSharedWords ? 0 : std::max(1, std::min(kThreads / 32, kMaxSharedWords / bins));
}




// A histogram's counts as the kernels left them: the bins and the block tallies.
void fillCounts(Histogram& h, const unsigned long long* counts, int bins, const Counters& c)
{
    h.counts.assign(counts, counts + bins);
    h.underflow = std::int64_t(c.under);
    h.overflow = std::int64_t(c.over);
    h.nan = std::int64_t(c.nan);
    h.inf = std::int64_t(c.inf);
    h.zeros = std::int64_t(c.zeros);
    h.backend = QStringLiteral("cuda");
}

// The single-tensor histogram; the caller holds the context's mutex.
Expected<Histogram> histogramLocked(DeviceContext& ctx, const ElementView& v, int kind, int bins,
    std::optional<std::pair<double, double>> range, const std::atomic<bool>* cancel)
{
    DeviceBuffers buffers(ctx);
    const int item = v.itemSize;
    const std::int64_t bytes = v.numel * item;
    const int stages = int(envNumber("CKPTLENS_CUDA_STAGES", 2, 2, kMaxStages));
    if (auto ok = ctx.ensureStages(stages); !ok)
        return ok.error();
    const std::int64_t chunkElems = std::max<std::int64_t>(1, (envNumber("CKPTLENS_CUDA_CHUNK_MB", 64, 4, kChunkBytes >> 20) << 20) / item);

    // Copy straight from the memory map where the driver lets us pin it; the pages stay in the page cache.
    const unsigned char* direct = nullptr;
    if (isDense(v) && !v.swap && bytes >= kChunkBytes / 4 && bytes <= kMaxRegisterBytes && envNumber("CKPTLENS_CUDA_REGISTER", 0, 0, 1)) {
        const std::uintptr_t page = std::uintptr_t(sysconf(_SC_PAGESIZE));
        const std::uintptr_t start = std::uintptr_t(v.base) & ~(page - 1);
        const std::uintptr_t end = (std::uintptr_t(v.base) + std::uintptr_t(bytes) + page - 1) & ~(page - 1);
        const cudaError_t err = cudaHostRegister(reinterpret_cast<void*>(start), end - start, cudaHostRegisterReadOnly);
        if (err == cudaSuccess) {
            buffers.registered = reinterpret_cast<void*>(start);
            direct = v.base;
        } else {
            cudaGetLastError(); // refused (e.g. by a driver that cannot pin file pages): stage instead
        }
    }
    // Keep the whole tensor on the device between the two passes of an automatic range, when it fits.
    unsigned char* resident = nullptr;
    if (!range && bytes > 0) {
        size_t freeBytes = 0, total = 0;
        if (cudaMemGetInfo(&freeBytes, &total) == cudaSuccess && std::uint64_t(bytes) <= freeBytes / 2) {
            auto p = buffers.alloc<unsigned char>(bytes);
            if (p)
                resident = *p;
        }
    }

    // Streams every chunk to the device; `launch` enqueues the kernel for one chunk on the chunk's stream.
    auto upload = [&](auto launch) -> Expected<bool> {
        for (std::int64_t begin = 0, k = 0; begin < v.numel; begin += chunkElems, ++k) {
            if (cancel && cancel->load())
                return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("cancelled") };
            const int s = int(k % stages);
            const std::int64_t n = std::min(chunkElems, v.numel - begin);
            const unsigned char* src = direct ? direct + begin * item : ctx.host[s];
            if (!direct) {
                CK_CUDA(cudaStreamSynchronize(ctx.stream[s])); // the buffer's previous copy is done
                parallelGather(*ctx.pool, v, begin, n, ctx.host[s]);
            }
            unsigned char* dst = resident ? resident + begin * item : ctx.stage[s];
            CK_CUDA(cudaMemcpyAsync(dst, src, size_t(n * item), cudaMemcpyHostToDevice, ctx.stream[s]));
            launch(dst, n, ctx.stream[s]);
            CK_CUDA(cudaGetLastError());
        }
        return ctx.syncAll();
    };

    double lo = 0, hi = 1; // numpy's range for no data
    Counters host {};
    if (range) {
        lo = range->first;
        hi = range->second;
    } else {
        host.lo = INFINITY;
        host.hi = -INFINITY;
        CK_CUDA(cudaMemcpy(ctx.counters, &host, sizeof host, cudaMemcpyHostToDevice));
        // A copy from pageable memory may return before its DMA lands, and the kernels run on non-blocking streams.
        CK_CUDA(cudaDeviceSynchronize());
        auto ok = upload([&](const unsigned char* d, std::int64_t n, cudaStream_t st) {
            minMaxKernel<<<ctx.blocks, kThreads, 0, st>>>(d, n, kind, ctx.tables, ctx.counters);
        });
        if (!ok)
            return ok.error();
        CK_CUDA(cudaMemcpy(&host, ctx.counters, sizeof host, cudaMemcpyDeviceToHost));
        if (host.lo <= host.hi) {
            lo = host.lo;
            hi = host.hi;
        }
    }
    Histogram h;
    h.edges = histogramEdges(lo, hi, bins);
    lo = h.edges.front();
    hi = h.edges.back();
    const double scale = double(bins) / (hi - lo);
    auto edges = buffers.alloc<double>(bins + 1);
    auto counts = buffers.alloc<unsigned long long>(bins);
    if (!edges || !counts)
        return !edges ? edges.error() : counts.error();
    CK_CUDA(cudaMemcpy(*edges, h.edges.data(), h.edges.size() * sizeof(double), cudaMemcpyHostToDevice));
    CK_CUDA(cudaMemset(*counts, 0, size_t(bins) * sizeof(unsigned long long)));
    std::memset(&host, 0, sizeof host);
    CK_CUDA(cudaMemcpy(ctx.counters, &host, sizeof host, cudaMemcpyHostToDevice));
    CK_CUDA(cudaDeviceSynchronize()); // the memset and pageable copies above are done before the streams start
    const int copies = sharedCopies(bins);
    const size_t sharedBytes = size_t(copies) * size_t(bins) * sizeof(unsigned);
    auto count = [&](const unsigned char* d, std::int64_t n, cudaStream_t st) {
        histogramKernel<<<ctx.blocks, kThreads, sharedBytes, st>>>(d, n, kind, ctx.tables, *edges, bins, lo, hi, scale, copies,
            *counts, ctx.counters);
    };
    if (resident && v.numel > 0) {
        count(resident, v.numel, ctx.stream[0]);
        CK_CUDA(cudaGetLastError());
        if (auto ok = ctx.syncAll(); !ok)
            return ok.error();
    } else {
        resident = nullptr; // the given-range pass streams through the staging buffers
        auto ok = upload(count);
        if (!ok)
            return ok.error();
    }
    std::vector<unsigned long long> result(static_cast<size_t>(bins));
    CK_CUDA(cudaMemcpy(result.data(), *counts, result.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
    CK_CUDA(cudaMemcpy(&host, ctx.counters, sizeof host, cudaMemcpyDeviceToHost));
    fillCounts(h, result.data(), bins, host);
    return h;
}

} // namespace

bool cudaHistogramAvailable()
{
    static std::once_flag once;
    static bool available = false;
    std::call_once(once, [] {
        int count = 0;
        available = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
        cudaGetLastError();
    });
    return available;
}

QString cudaDescription()
{
    int driver = 0, runtime = 0, count = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    const cudaError_t err = cudaGetDeviceCount(&count);
    auto version = [](int v) { return QStringLiteral("%1.%2").arg(v / 1000).arg((v % 1000) / 10); };
    if (err != cudaSuccess || count == 0)
        return QStringLiteral("CPU only (CUDA runtime %1, no device: %2)").arg(version(runtime), QLatin1String(cudaGetErrorString(err)));
    cudaDeviceProp prop {};
    cudaGetDeviceProperties(&prop, 0);
    return QStringLiteral("%1 (driver %2, runtime %3)").arg(QLatin1String(prop.name), version(driver), version(runtime));
}

Expected<Histogram> cudaHistogram(const ElementView& v, const HistRequest& request, const std::atomic<bool>* cancel)
{
    const int kind = kindOf(v.dtype);
    if (kind < 0 || v.swap)
        return Error { ErrorKind::Unsupported, {}, QStringLiteral("CUDA"), QStringLiteral("dtype not handled on the device") };
    if (request.scale != HistScale::Linear) // device log10 may differ from the host's in the last bit
        return Error { ErrorKind::Unsupported, {}, QStringLiteral("CUDA"), QStringLiteral("log scale is binned on the CPU") };
    DeviceContext& ctx = context();
    std::lock_guard lock(ctx.mutex);
    if (auto ok = ctx.init(); !ok)
        return ok.error();
    return histogramLocked(ctx, v, kind, request.bins, request.range, cancel);
}

Expected<std::vector<std::optional<Histogram>>> cudaHistogramBatch(const std::vector<HistBatchItem>& items, int bins,
    const std::atomic<bool>* cancel)
{
    std::vector<std::optional<Histogram>> out(items.size());
    DeviceContext& ctx = context();
    std::lock_guard lock(ctx.mutex);
    if (auto ok = ctx.init(); !ok)
        return ok.error();
    const Error cancelled { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("cancelled") };

    // Large tensors go through the streaming path one by one; the rest are packed.
    std::vector<size_t> small;
    for (size_t i = 0; i < items.size(); ++i) {
        const ElementView& v = items[i].view;
        const int kind = kindOf(v.dtype);
        if (kind < 0 || v.swap || v.numel == 0)
            continue;
        if (v.numel * v.itemSize > kChunkBytes) {
            if (cancel && cancel->load())
                return cancelled;
            std::optional<std::pair<double, double>> range;
            range.emplace(items[i].lo, items[i].hi);
            auto h = histogramLocked(ctx, v, kind, bins, range, cancel);
            if (!h)
                return h.error();
            out[i] = std::move(*h);
        } else {
            small.push_back(i);
        }
    }
    if (small.empty())
        return out;

    // A pack: at most kChunkBytes of elements, maxItems tensors (their counters bounded to 16M) and maxSegments blocks.
    const int maxItems = int(std::clamp<std::int64_t>((std::int64_t(16) << 20) / bins, 1, 4096));
    const int maxSegments = 1 << 16;
    const int copies = sharedCopies(bins);
    const size_t sharedBytes = size_t(copies) * size_t(bins) * sizeof(unsigned);
    DeviceBuffers buffers(ctx);
    struct Set {
        Segment* segHost = nullptr;
        Segment* segDev = nullptr;
        ItemRange* rangeHost = nullptr;
        ItemRange* rangeDev = nullptr;
        double* edgesHost = nullptr;
        double* edgesDev = nullptr;
        unsigned long long* countsHost = nullptr;
        unsigned long long* countsDev = nullptr;
        Counters* tallyHost = nullptr;
        Counters* tallyDev = nullptr;
        std::vector<size_t> members; // indices into items of the pack in flight
    } sets[2];
    for (Set& s : sets) {
        auto a = buffers.allocPinned<Segment>(maxSegments);
        auto b = buffers.alloc<Segment>(maxSegments);
        auto c = buffers.allocPinned<ItemRange>(maxItems);
        auto d = buffers.alloc<ItemRange>(maxItems);
        auto e = buffers.allocPinned<double>(std::int64_t(maxItems) * (bins + 1));
        auto f = buffers.alloc<double>(std::int64_t(maxItems) * (bins + 1));
        auto g = buffers.allocPinned<unsigned long long>(std::int64_t(maxItems) * bins);
        auto h = buffers.alloc<unsigned long long>(std::int64_t(maxItems) * bins);
        auto t = buffers.allocPinned<Counters>(maxItems);
        auto u = buffers.alloc<Counters>(maxItems);
        if (!a || !b || !c || !d || !e || !f || !g || !h || !t || !u)
            return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("out of device or pinned memory for a batch") };
        s = Set { *a, *b, *c, *d, *e, *f, *g, *h, *t, *u, {} };
    }
    // Copies a finished pack's counts into its histograms.
    auto harvest = [&](Set& s) {
        for (size_t j = 0; j < s.members.size(); ++j) {
            const size_t i = s.members[j];
            Histogram h;
            h.edges.assign(s.edgesHost + j * size_t(bins + 1), s.edgesHost + (j + 1) * size_t(bins + 1));
            fillCounts(h, s.countsHost + j * size_t(bins), bins, s.tallyHost[j]);
            out[i] = std::move(h);
        }
        s.members.clear();
    };

    size_t next = 0;
    for (int k = 0; next < small.size(); ++k) {
        if (cancel && cancel->load())
            return cancelled;
        const int si = k & 1;
        Set& s = sets[si];
        CK_CUDA(cudaStreamSynchronize(ctx.stream[si]));
        harvest(s);
        // Fill the pack.
        std::int64_t bytes = 0;
        int segments = 0;
        std::vector<std::pair<size_t, std::int64_t>> placed; // item, offset in the staging buffer
        while (next < small.size()) {
            const size_t i = small[next];
            const ElementView& v = items[i].view;
            const std::int64_t offset = (bytes + 15) & ~std::int64_t(15);
            const std::int64_t segs = (v.numel + kSegment - 1) / kSegment;
            if (!s.members.empty()
                && (offset + v.numel * v.itemSize > kChunkBytes || int(s.members.size()) == maxItems || segments + segs > maxSegments))
                break;
            const int j = int(s.members.size());
            const std::vector<double> e = histogramEdges(items[i].lo, items[i].hi, bins);
            std::memcpy(s.edgesHost + std::int64_t(j) * (bins + 1), e.data(), e.size() * sizeof(double));
            s.rangeHost[j] = ItemRange { e.front(), e.back(), double(bins) / (e.back() - e.front()) };
            for (std::int64_t b = 0; b < v.numel; b += kSegment)
                s.segHost[segments++] = Segment { offset, b, std::min(kSegment, v.numel - b), j, kindOf(v.dtype) };
            s.members.push_back(i);
            placed.emplace_back(i, offset);
            bytes = offset + v.numel * v.itemSize;
            ++next;
        }
        // Gather the pack's tensors on every core: one tensor per task.
        unsigned char* staging = ctx.host[si];
        const auto* where = &placed;
        const auto* all = &items;
        ctx.pool->run(std::int64_t(placed.size()), 1, [staging, where, all](std::int64_t b, std::int64_t, int) {
            const std::pair<size_t, std::int64_t> p = (*where)[size_t(b)];
            const ElementView& v = (*all)[p.first].view;
            gatherRange(v, 0, v.numel, staging + p.second);
        });
        const int m = int(s.members.size());
        cudaStream_t st = ctx.stream[si];
        CK_CUDA(cudaMemcpyAsync(ctx.stage[si], ctx.host[si], size_t(bytes), cudaMemcpyHostToDevice, st));
        CK_CUDA(cudaMemcpyAsync(s.segDev, s.segHost, size_t(segments) * sizeof(Segment), cudaMemcpyHostToDevice, st));
        CK_CUDA(cudaMemcpyAsync(s.rangeDev, s.rangeHost, size_t(m) * sizeof(ItemRange), cudaMemcpyHostToDevice, st));
        CK_CUDA(cudaMemcpyAsync(s.edgesDev, s.edgesHost, size_t(m) * size_t(bins + 1) * sizeof(double), cudaMemcpyHostToDevice, st));
        CK_CUDA(cudaMemsetAsync(s.countsDev, 0, size_t(m) * size_t(bins) * sizeof(unsigned long long), st));
        CK_CUDA(cudaMemsetAsync(s.tallyDev, 0, size_t(m) * sizeof(Counters), st));
        batchKernel<<<segments, kThreads, sharedBytes, st>>>(ctx.stage[si], s.segDev, s.rangeDev, ctx.tables, s.edgesDev, bins, copies,
            s.countsDev, s.tallyDev);
        CK_CUDA(cudaGetLastError());
        CK_CUDA(cudaMemcpyAsync(s.countsHost, s.countsDev, size_t(m) * size_t(bins) * sizeof(unsigned long long), cudaMemcpyDeviceToHost, st));
        CK_CUDA(cudaMemcpyAsync(s.tallyHost, s.tallyDev, size_t(m) * sizeof(Counters), cudaMemcpyDeviceToHost, st));
    }
    if (auto ok = ctx.syncAll(); !ok)
        return ok.error();
    harvest(sets[0]);
    harvest(sets[1]);
    return out;
}

} // namespace ckpt
