#pragma once

// What the CUDA kernels of model/cuda share: element decoding on the device, the process-wide device context
// (pinned staging buffers, streams, float8 tables, the gather pool) and error handling. Included by .cu files only.
#include "model/elementdecode.h"
#include "model/elementview.h"
#include "model/parallel.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace ckpt::cuda_detail {

constexpr int kThreads = 256;
constexpr std::int64_t kChunkBytes = 64 << 20;   // per staging buffer: the largest copy
constexpr int kMaxStages = 4;                    // staging buffers (and streams) in flight
constexpr std::int64_t kGatherPiece = 4 << 20;   // bytes per host thread when gathering a chunk

struct Counters {
    unsigned long long under, over, nan, inf, zeros;
    double lo, hi; // min/max pass
};

// Float8 kinds index their own 256-entry table.
enum Kind : int { F64, F32, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, BOOL, F8_0, F8_1, F8_2, F8_3 };
constexpr DType kF8Types[4] = { DType::Float8_e4m3fn, DType::Float8_e5m2, DType::Float8_e4m3fnuz, DType::Float8_e5m2fnuz };

__device__ __forceinline__ double halfBits(unsigned short b)
{
    const int sign = b >> 15, e = (b >> 10) & 0x1f, m = b & 0x3ff;
    double v = e == 0 ? ldexp(double(m), -24) : e == 31 ? (m ? nan("") : INFINITY) : ldexp(double(m | 0x400), e - 25);
    return sign ? -v : v;
}

__device__ __forceinline__ double decode(const unsigned char* p, std::int64_t i, int kind, const double* tables)
{
    switch (kind) {
    case F64: return reinterpret_cast<const double*>(p)[i];
    case F32: return double(reinterpret_cast<const float*>(p)[i]);
    case F16: return halfBits(reinterpret_cast<const unsigned short*>(p)[i]);
    case BF16: return double(__uint_as_float(unsigned(reinterpret_cast<const unsigned short*>(p)[i]) << 16));
    case I8: return double(reinterpret_cast<const signed char*>(p)[i]);
    case I16: return double(reinterpret_cast<const short*>(p)[i]);
    case I32: return double(reinterpret_cast<const int*>(p)[i]);
    case I64: return double(reinterpret_cast<const long long*>(p)[i]);
    case U8: return double(p[i]);
    case U16: return double(reinterpret_cast<const unsigned short*>(p)[i]);
    case U32: return double(reinterpret_cast<const unsigned*>(p)[i]);
    case U64: return double(reinterpret_cast<const unsigned long long*>(p)[i]);
    case BOOL: return p[i] ? 1.0 : 0.0;
    default: return tables[(kind - F8_0) * 256 + p[i]];
    }
}


inline int kindOf(DType t)
{
    switch (t) {
    case DType::Float64: return F64;
    case DType::Float32: return F32;
    case DType::Float16: return F16;
    case DType::BFloat16: return BF16;
    case DType::Float8_e4m3fn: return F8_0;
    case DType::Float8_e5m2: return F8_1;
    case DType::Float8_e4m3fnuz: return F8_2;
    case DType::Float8_e5m2fnuz: return F8_3;
    case DType::Int8: return I8;
    case DType::Int16: return I16;
    case DType::Int32: return I32;
    case DType::Int64: return I64;
    case DType::UInt8: return U8;
    case DType::UInt16: return U16;
    case DType::UInt32: return U32;
    case DType::UInt64: return U64;
    case DType::Bool: return BOOL;
    // Complex magnitudes stay on the CPU: the device's hypot is not correctly rounded, and an edge value could
    // land in another bin than on the host.
    default: return -1;
    }
}

inline Error deviceError(const char* what, cudaError_t err)
{
    cudaGetLastError(); // clears a sticky-free error so the next call starts clean
    return Error { ErrorKind::Io, {}, QStringLiteral("CUDA"), QStringLiteral("%1 failed: %2").arg(QLatin1String(what), QLatin1String(cudaGetErrorString(err))) };
}

#define CK_CUDA(call)                                                                                                  \
    do {                                                                                                               \
        const cudaError_t err_ = (call);                                                                               \
        if (err_ != cudaSuccess)                                                                                       \
            return deviceError(#call, err_);                                                                             \
    } while (0)

// What every request uses, made once per process on first use (pinned allocations cost milliseconds each) and
// used by one request at a time.
struct DeviceContext {
    std::mutex mutex;
    bool ready = false;
    unsigned char* host[kMaxStages] = {};
    unsigned char* stage[kMaxStages] = {};
    cudaStream_t stream[kMaxStages] = {};
    double* tables = nullptr;
    Counters* counters = nullptr;
    int blocks = 1;
    std::unique_ptr<WorkerPool> pool; // gathers chunks into the staging buffers

    // Every step is skipped once done, so a request after a failed one (the device full, say) resumes where the
    // failure left off instead of leaking and remaking what was already made.
    Expected<bool> init()
    {
        if (ready)
            return true;
        for (int i = 0; i < kMaxStages; ++i)
            if (!stream[i])
                CK_CUDA(cudaStreamCreateWithFlags(&stream[i], cudaStreamNonBlocking));
        if (auto ok = ensureStages(2); !ok)
            return ok.error();
        if (!tables) {
            double table[4 * 256];
            for (int t = 0; t < 4; ++t)
                for (int b = 0; b < 256; ++b)
                    table[t * 256 + b] = float8ToDouble(kF8Types[t], std::uint8_t(b));
            double* made = nullptr;
            CK_CUDA(cudaMalloc(&made, sizeof table));
            if (const cudaError_t err = cudaMemcpy(made, table, sizeof table, cudaMemcpyHostToDevice); err != cudaSuccess) {
                cudaFree(made);
                return deviceError("cudaMemcpy(tables)", err);
            }
            tables = made;
        }
        if (!counters)
            CK_CUDA(cudaMalloc(&counters, sizeof(Counters)));
        int sms = 1;
        CK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
        blocks = std::max(1, sms * 4);
        CK_CUDA(cudaDeviceSynchronize());
        if (!pool)
            pool = std::make_unique<WorkerPool>();
        ready = true;
        return true;
    }
    // Staging buffers 0..n-1 (64 MiB pinned + 64 MiB on the device each), made on first use; each half is made
    // when missing, so a half made before a failure is kept and the other retried.
    Expected<bool> ensureStages(int n)
    {
        for (int i = 0; i < std::min(n, kMaxStages); ++i) {
            if (!host[i])
                CK_CUDA(cudaMallocHost(&host[i], size_t(kChunkBytes)));
            if (!stage[i])
                CK_CUDA(cudaMalloc(&stage[i], size_t(kChunkBytes)));
        }
        return true;
    }
    Expected<bool> syncAll()
    {
        for (int s = 0; s < kMaxStages; ++s)
            CK_CUDA(cudaStreamSynchronize(stream[s]));
        return true;
    }
};

// The one context of the process (defined in cudahistogram.cu).
DeviceContext& context();

// Frees device memory on every path; waits for the streams first so nothing in flight still uses it.
struct DeviceBuffers {
    DeviceContext& ctx;
    std::vector<void*> device, pinned;
    void* registered = nullptr;
    explicit DeviceBuffers(DeviceContext& c)
        : ctx(c)
    {
    }
    ~DeviceBuffers()
    {
        for (int s = 0; s < kMaxStages; ++s)
            cudaStreamSynchronize(ctx.stream[s]);
        for (void* p : device)
            cudaFree(p);
        for (void* p : pinned)
            cudaFreeHost(p);
        if (registered)
            cudaHostUnregister(registered);
    }
    template <typename T>
    Expected<T*> alloc(std::int64_t count)
    {
        void* p = nullptr;
        CK_CUDA(cudaMalloc(&p, size_t(std::max<std::int64_t>(count, 1)) * sizeof(T)));
        device.push_back(p);
        return static_cast<T*>(p);
    }
    template <typename T>
    Expected<T*> allocPinned(std::int64_t count)
    {
        void* p = nullptr;
        CK_CUDA(cudaMallocHost(&p, size_t(std::max<std::int64_t>(count, 1)) * sizeof(T)));
        pinned.push_back(p);
        return static_cast<T*>(p);
    }
};

// Tuning switches, read per request (bench/bench_gpu.py sweeps them): CKPTLENS_CUDA_REGISTER=1 copies dense
// tensors straight from the registered memory map instead of staging them (measured slower on an H200: pinning the
// pages costs more than the gather); CKPTLENS_CUDA_STAGES (2..4) and CKPTLENS_CUDA_CHUNK_MB (4..64).
inline long envNumber(const char* name, long fallback, long lo, long hi)
{
    const char* s = std::getenv(name);
    if (!s || !*s)
        return fallback;
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    return end && *end == 0 ? std::clamp(v, lo, hi) : fallback;
}

// Gathers elements [begin, begin + n) into `out` on every core.
inline void parallelGather(WorkerPool& pool, const ElementView& v, std::int64_t begin, std::int64_t n, unsigned char* out)
{
    const std::int64_t piece = std::max<std::int64_t>(1, kGatherPiece / v.itemSize);
    pool.run(n, piece, [&](std::int64_t b, std::int64_t c, int) { gatherRange(v, begin + b, c, out + b * v.itemSize); });
}

} // namespace ckpt::cuda_detail
