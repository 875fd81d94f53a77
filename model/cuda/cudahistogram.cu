// CUDA histogram backend: raw element bytes stream from the memory map through two pinned staging buffers
// (strided views gathered on the host), each copied on its own stream while the other chunk's kernel runs;
// elements are decoded on the device (fp16, bf16, fp8 via a table), counted in per-block shared-memory
// histograms and merged into 64-bit global counters. Bin indices follow the CPU backend exactly: the index from
// the scaled offset, corrected against the double edges, so both give numpy's counts. Any CUDA failure returns
// an error and the caller falls back to the CPU.
#include "model/cuda/cudahistogram.h"

#include "model/elementdecode.h"

#include <QElapsedTimer>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace ckpt {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxSharedBins = 4096;          // 16 KiB of 32-bit counters per block
constexpr std::int64_t kChunkBytes = 64 << 20; // per staging buffer

struct Counters {
    unsigned long long under, over, nan, inf, zeros;
    double lo, hi; // min/max pass
};

enum Kind : int { F64, F32, F16, BF16, F8TABLE, I8, I16, I32, I64, U8, U16, U32, U64, BOOL, C64, C128 };

__device__ __forceinline__ double halfBits(unsigned short b)
{
    const int sign = b >> 15, e = (b >> 10) & 0x1f, m = b & 0x3ff;
    double v = e == 0 ? ldexp(double(m), -24) : e == 31 ? (m ? nan("") : INFINITY) : ldexp(double(m | 0x400), e - 25);
    return sign ? -v : v;
}

__device__ __forceinline__ double decode(const unsigned char* p, std::int64_t i, int kind, const double* table)
{
    switch (kind) {
    case F64: return reinterpret_cast<const double*>(p)[i];
    case F32: return double(reinterpret_cast<const float*>(p)[i]);
    case F16: return halfBits(reinterpret_cast<const unsigned short*>(p)[i]);
    case BF16: return double(__uint_as_float(unsigned(reinterpret_cast<const unsigned short*>(p)[i]) << 16));
    case F8TABLE: return table[p[i]];
    case I8: return double(reinterpret_cast<const signed char*>(p)[i]);
    case I16: return double(reinterpret_cast<const short*>(p)[i]);
    case I32: return double(reinterpret_cast<const int*>(p)[i]);
    case I64: return double(reinterpret_cast<const long long*>(p)[i]);
    case U8: return double(p[i]);
    case U16: return double(reinterpret_cast<const unsigned short*>(p)[i]);
    case U32: return double(reinterpret_cast<const unsigned*>(p)[i]);
    case U64: return double(reinterpret_cast<const unsigned long long*>(p)[i]);
    case BOOL: return p[i] ? 1.0 : 0.0;
    case C64: {
        const float re = reinterpret_cast<const float*>(p)[2 * i], im = reinterpret_cast<const float*>(p)[2 * i + 1];
        return isnan(re) || isnan(im) ? nan("") : hypot(double(re), double(im));
    }
    case C128: {
        const double re = reinterpret_cast<const double*>(p)[2 * i], im = reinterpret_cast<const double*>(p)[2 * i + 1];
        return isnan(re) || isnan(im) ? nan("") : hypot(re, im);
    }
    }
    return nan("");
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

__global__ void minMaxKernel(const unsigned char* data, std::int64_t n, int kind, const double* table, Counters* c)
{
    double lo = INFINITY, hi = -INFINITY;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
        const double x = decode(data, i, kind, table);
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

__global__ void histogramKernel(const unsigned char* data, std::int64_t n, int kind, const double* table, const double* edges,
    int bins, double lo, double hi, unsigned long long* counts, Counters* c)
{
    extern __shared__ unsigned int local[];
    const bool shared = bins <= kMaxSharedBins;
    if (shared)
        for (int b = threadIdx.x; b < bins; b += blockDim.x)
            local[b] = 0;
    __syncthreads();
    unsigned long long under = 0, over = 0, nans = 0, infs = 0, zeros = 0;
    for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
        const double x = decode(data, i, kind, table);
        if (isnan(x)) {
            ++nans;
            continue;
        }
        if (isinf(x)) {
            ++infs;
            continue;
        }
        zeros += x == 0;
        if (x < lo) {
            ++under;
            continue;
        }
        if (x > hi) {
            ++over;
            continue;
        }
        // Same arithmetic as histogramBin() on the host: a division and a multiplication, no fused operations.
        int b = int(__dmul_rn(__ddiv_rn(__dsub_rn(x, lo), __dsub_rn(hi, lo)), double(bins)));
        b = min(max(b, 0), bins - 1);
        if (x < edges[b])
            --b;
        else if (x >= edges[b + 1] && b != bins - 1)
            ++b;
        if (shared)
            atomicAdd(&local[b], 1u);
        else
            atomicAdd(&counts[b], 1ull);
    }
    __syncthreads();
    if (shared)
        for (int b = threadIdx.x; b < bins; b += blockDim.x)
            if (local[b])
                atomicAdd(&counts[b], (unsigned long long)local[b]);
    atomicAdd(&c->under, under);
    atomicAdd(&c->over, over);
    atomicAdd(&c->nan, nans);
    atomicAdd(&c->inf, infs);
    atomicAdd(&c->zeros, zeros);
}

int kindOf(DType t)
{
    switch (t) {
    case DType::Float64: return F64;
    case DType::Float32: return F32;
    case DType::Float16: return F16;
    case DType::BFloat16: return BF16;
    case DType::Float8_e4m3fn:
    case DType::Float8_e5m2:
    case DType::Float8_e4m3fnuz:
    case DType::Float8_e5m2fnuz: return F8TABLE;
    case DType::Int8: return I8;
    case DType::Int16: return I16;
    case DType::Int32: return I32;
    case DType::Int64: return I64;
    case DType::UInt8: return U8;
    case DType::UInt16: return U16;
    case DType::UInt32: return U32;
    case DType::UInt64: return U64;
    case DType::Bool: return BOOL;
    case DType::Complex64: return C64;
    case DType::Complex128: return C128;
    default: return -1;
    }
}

// Device memory and streams of one request, released on every path.
struct Resources {
    unsigned char* host[2] = { nullptr, nullptr };
    unsigned char* device[2] = { nullptr, nullptr };
    cudaStream_t stream[2] = { nullptr, nullptr };
    double* table = nullptr;
    double* edges = nullptr;
    unsigned long long* counts = nullptr;
    Counters* counters = nullptr;
    ~Resources()
    {
        for (int i = 0; i < 2; ++i) {
            if (stream[i])
                cudaStreamSynchronize(stream[i]);
            cudaFreeHost(host[i]);
            cudaFree(device[i]);
            if (stream[i])
                cudaStreamDestroy(stream[i]);
        }
        cudaFree(table);
        cudaFree(edges);
        cudaFree(counts);
        cudaFree(counters);
    }
};

#define CK_CUDA(call)                                                                                                  \
    do {                                                                                                               \
        const cudaError_t err_ = (call);                                                                               \
        if (err_ != cudaSuccess)                                                                                       \
            return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"),                                                  \
                QStringLiteral("%1 failed: %2").arg(QLatin1String(#call), QLatin1String(cudaGetErrorString(err_))) };  \
    } while (0)

} // namespace

bool cudaHistogramAvailable()
{
    static std::once_flag once;
    static bool available = false;
    std::call_once(once, [] {
        int count = 0;
        available = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
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
    Resources r;
    const int item = v.itemSize;
    const std::int64_t chunkElems = std::max<std::int64_t>(1, kChunkBytes / item);
    for (int i = 0; i < 2; ++i) {
        CK_CUDA(cudaMallocHost(&r.host[i], size_t(chunkElems * item)));
        CK_CUDA(cudaMalloc(&r.device[i], size_t(chunkElems * item)));
        CK_CUDA(cudaStreamCreateWithFlags(&r.stream[i], cudaStreamNonBlocking));
    }
    double table[256] = {};
    if (kind == F8TABLE)
        for (int b = 0; b < 256; ++b)
            table[b] = float8ToDouble(v.dtype, std::uint8_t(b));
    CK_CUDA(cudaMalloc(&r.table, sizeof table));
    CK_CUDA(cudaMemcpy(r.table, table, sizeof table, cudaMemcpyHostToDevice));
    CK_CUDA(cudaMalloc(&r.counters, sizeof(Counters)));
    int sms = 1;
    CK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    const int blocks = std::max(1, sms * 4);

    // Streams every chunk through the staging buffers; `launch` enqueues the kernel for one chunk.
    auto stream = [&](auto launch) -> Expected<bool> {
        for (std::int64_t begin = 0, k = 0; begin < v.numel; begin += chunkElems, ++k) {
            if (cancel && cancel->load())
                return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("cancelled") };
            const int s = int(k & 1);
            const std::int64_t n = std::min(chunkElems, v.numel - begin);
            CK_CUDA(cudaStreamSynchronize(r.stream[s])); // the buffer's previous copy and kernel are done
            gatherRange(v, begin, n, r.host[s]);
            CK_CUDA(cudaMemcpyAsync(r.device[s], r.host[s], size_t(n * item), cudaMemcpyHostToDevice, r.stream[s]));
            launch(r.device[s], n, r.stream[s]);
            CK_CUDA(cudaGetLastError());
        }
        for (int s = 0; s < 2; ++s)
            CK_CUDA(cudaStreamSynchronize(r.stream[s]));
        return true;
    };

    double lo = 0, hi = 1;
    Counters host {};
    if (request.range) {
        lo = request.range->first;
        hi = request.range->second;
    } else {
        host.lo = INFINITY;
        host.hi = -INFINITY;
        CK_CUDA(cudaMemcpy(r.counters, &host, sizeof host, cudaMemcpyHostToDevice));
        auto ok = stream([&](const unsigned char* d, std::int64_t n, cudaStream_t st) {
            minMaxKernel<<<blocks, kThreads, 0, st>>>(d, n, kind, r.table, r.counters);
        });
        if (!ok)
            return ok.error();
        CK_CUDA(cudaMemcpy(&host, r.counters, sizeof host, cudaMemcpyDeviceToHost));
        if (host.lo <= host.hi) {
            lo = host.lo;
            hi = host.hi;
        }
    }
    Histogram h;
    h.edges = histogramEdges(lo, hi, request.bins);
    lo = h.edges.front();
    hi = h.edges.back();
    const int bins = request.bins;
    CK_CUDA(cudaMalloc(&r.edges, h.edges.size() * sizeof(double)));
    CK_CUDA(cudaMemcpy(r.edges, h.edges.data(), h.edges.size() * sizeof(double), cudaMemcpyHostToDevice));
    CK_CUDA(cudaMalloc(&r.counts, size_t(bins) * sizeof(unsigned long long)));
    CK_CUDA(cudaMemset(r.counts, 0, size_t(bins) * sizeof(unsigned long long)));
    std::memset(&host, 0, sizeof host);
    CK_CUDA(cudaMemcpy(r.counters, &host, sizeof host, cudaMemcpyHostToDevice));
    const size_t sharedBytes = bins <= kMaxSharedBins ? size_t(bins) * sizeof(unsigned int) : 0;
    auto ok = stream([&](const unsigned char* d, std::int64_t n, cudaStream_t st) {
        histogramKernel<<<blocks, kThreads, sharedBytes, st>>>(d, n, kind, r.table, r.edges, bins, lo, hi, r.counts, r.counters);
    });
    if (!ok)
        return ok.error();
    std::vector<unsigned long long> counts(static_cast<size_t>(bins));
    CK_CUDA(cudaMemcpy(counts.data(), r.counts, counts.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
    CK_CUDA(cudaMemcpy(&host, r.counters, sizeof host, cudaMemcpyDeviceToHost));
    h.counts.assign(counts.begin(), counts.end());
    h.underflow = std::int64_t(host.under);
    h.overflow = std::int64_t(host.over);
    h.nan = std::int64_t(host.nan);
    h.inf = std::int64_t(host.inf);
    h.zeros = std::int64_t(host.zeros);
    h.backend = QStringLiteral("cuda");
    return h;
}

} // namespace ckpt
