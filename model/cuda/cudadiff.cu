// Pair metrics on the device: both tensors' chunks are gathered on every core into the two halves of a pinned
// staging buffer, copied on the buffer's stream, and reduced by a grid-stride kernel (per-warp shuffles, then one
// atomic per warp into double sums and 64-bit counters). The per-element rules are the CPU's (model/diff.cpp).
#include "model/cuda/cudadiff.h"
#include "model/cuda/devicecommon.cuh"

namespace ckpt {
namespace {
using namespace cuda_detail;

struct DiffSums {
    double sumAbs, sumSq, dot, normA, normB;
    unsigned long long maxAbsBits; // a non-negative double's bits order as its value
    unsigned long long finitePairs, differing, notClose, bitDiffer;
};

__device__ __forceinline__ double warpSum(double v)
{
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ unsigned long long warpSum(unsigned long long v)
{
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

__global__ void diffKernel(const unsigned char* a, const unsigned char* b, std::int64_t n, int kindA, int kindB, int item,
    bool sameType, const double* tables, double rtol, double atol, DiffSums* out)
{
    double sumAbs = 0, sumSq = 0, dot = 0, normA = 0, normB = 0, maxAbs = 0;
    unsigned long long finitePairs = 0, differing = 0, notClose = 0, bitDiffer = 0;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
        if (sameType) {
            bool same = true;
            for (int k = 0; k < item; ++k)
                same = same && a[i * item + k] == b[i * item + k];
            bitDiffer += !same;
        }
        const double x = decode(a, i, kindA, tables), y = decode(b, i, kindB, tables);
        const bool xn = isnan(x), yn = isnan(y);
        differing += !(x == y || (xn && yn));
        if (isfinite(x) && isfinite(y)) {
            const double d = fabs(__dsub_rn(x, y));
            maxAbs = fmax(maxAbs, d);
            sumAbs += d;
            sumSq = __fma_rn(d, d, sumSq);
            dot = __fma_rn(x, y, dot);
            normA = __fma_rn(x, x, normA);
            normB = __fma_rn(y, y, normB);
            ++finitePairs;
            notClose += !(d <= __dadd_rn(atol, __dmul_rn(rtol, fabs(y))));
        } else {
            notClose += !(isinf(x) && x == y); // numpy.isclose: equal infinities are close, NaN never
        }
    }
    sumAbs = warpSum(sumAbs);
    sumSq = warpSum(sumSq);
    dot = warpSum(dot);
    normA = warpSum(normA);
    normB = warpSum(normB);
    for (int off = 16; off > 0; off >>= 1)
        maxAbs = fmax(maxAbs, __shfl_down_sync(0xffffffffu, maxAbs, off));
    finitePairs = warpSum(finitePairs);
    differing = warpSum(differing);
    notClose = warpSum(notClose);
    bitDiffer = warpSum(bitDiffer);
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(&out->sumAbs, sumAbs);
        atomicAdd(&out->sumSq, sumSq);
        atomicAdd(&out->dot, dot);
        atomicAdd(&out->normA, normA);
        atomicAdd(&out->normB, normB);
        atomicMax(&out->maxAbsBits, (unsigned long long)__double_as_longlong(maxAbs));
        atomicAdd(&out->finitePairs, finitePairs);
        atomicAdd(&out->differing, differing);
        atomicAdd(&out->notClose, notClose);
        atomicAdd(&out->bitDiffer, bitDiffer);
    }
}

} // namespace

Expected<PairMetrics> cudaComparePair(const ElementView& a, const ElementView& b, double rtol, double atol,
    const std::atomic<bool>* cancel)
{
    const int kindA = kindOf(a.dtype), kindB = kindOf(b.dtype);
    if (kindA < 0 || kindB < 0 || a.swap || b.swap)
        return Error { ErrorKind::Unsupported, {}, QStringLiteral("CUDA"), QStringLiteral("dtype not handled on the device") };
    if (a.numel != b.numel)
        return Error { ErrorKind::OutOfBounds, {}, QStringLiteral("CUDA"), QStringLiteral("tensors of different sizes cannot be compared") };
    DeviceContext& ctx = context();
    std::lock_guard lock(ctx.mutex);
    if (auto ok = ctx.init(); !ok)
        return ok.error();
    const int stages = int(envNumber("CKPTLENS_CUDA_STAGES", 2, 2, kMaxStages));
    if (auto ok = ctx.ensureStages(stages); !ok)
        return ok.error();
    DeviceBuffers buffers(ctx);
    auto sums = buffers.alloc<DiffSums>(1);
    if (!sums)
        return sums.error();
    CK_CUDA(cudaMemset(*sums, 0, sizeof(DiffSums)));
    CK_CUDA(cudaDeviceSynchronize()); // the memset is done before the non-blocking streams start

    // Each staging buffer holds a chunk of A in its first half and the same elements of B in its second.
    const std::int64_t half = (envNumber("CKPTLENS_CUDA_CHUNK_MB", 64, 4, kChunkBytes >> 20) << 20) / 2;
    const std::int64_t chunkElems = std::max<std::int64_t>(1, half / std::max(a.itemSize, b.itemSize));
    const bool sameType = a.dtype == b.dtype;
    for (std::int64_t begin = 0, k = 0; begin < a.numel; begin += chunkElems, ++k) {
        if (cancel && cancel->load())
            return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("cancelled") };
        const int s = int(k % stages);
        const std::int64_t n = std::min(chunkElems, a.numel - begin);
        CK_CUDA(cudaStreamSynchronize(ctx.stream[s])); // the buffer's previous copy is done
        parallelGather(*ctx.pool, a, begin, n, ctx.host[s]);
        parallelGather(*ctx.pool, b, begin, n, ctx.host[s] + half);
        CK_CUDA(cudaMemcpyAsync(ctx.stage[s], ctx.host[s], size_t(n * a.itemSize), cudaMemcpyHostToDevice, ctx.stream[s]));
        CK_CUDA(cudaMemcpyAsync(ctx.stage[s] + half, ctx.host[s] + half, size_t(n * b.itemSize), cudaMemcpyHostToDevice, ctx.stream[s]));
        diffKernel<<<ctx.blocks, kThreads, 0, ctx.stream[s]>>>(ctx.stage[s], ctx.stage[s] + half, n, kindA, kindB, a.itemSize, sameType,
            ctx.tables, rtol, atol, *sums);
        CK_CUDA(cudaGetLastError());
    }
    if (auto ok = ctx.syncAll(); !ok)
        return ok.error();
    DiffSums r {};
    CK_CUDA(cudaMemcpy(&r, *sums, sizeof r, cudaMemcpyDeviceToHost));
    PairMetrics m;
    double maxAbs;
    std::memcpy(&maxAbs, &r.maxAbsBits, sizeof maxAbs);
    m.maxAbs = maxAbs;
    m.meanAbs = r.finitePairs ? r.sumAbs / double(r.finitePairs) : 0;
    m.relL2 = r.normA > 0 ? std::sqrt(r.sumSq) / std::sqrt(r.normA) : (r.sumSq > 0 ? INFINITY : 0);
    if (r.normA > 0 && r.normB > 0)
        m.cosine = r.dot / (std::sqrt(r.normA) * std::sqrt(r.normB));
    m.differing = std::int64_t(r.differing);
    m.notClose = std::int64_t(r.notClose);
    m.identical = sameType && r.bitDiffer == 0;
    m.backend = QStringLiteral("cuda");
    return m;
}

} // namespace ckpt
