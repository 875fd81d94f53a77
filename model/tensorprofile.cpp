#include "model/tensorprofile.h"

#include "model/elementview.h"
#include "model/parallel.h"

#include "ckptlens-config.h"
#if CKPTLENS_WITH_CUDA
#include "model/cuda/cudahistogram.h"
#endif

#include <QElapsedTimer>

#include <spdlog/spdlog.h>

#include <future>

namespace ckpt {
namespace {

// Tensors below this many elements are worked on one per core; larger ones one at a time on every core.
constexpr std::int64_t kSmall = 1 << 20;

std::pair<double, double> rangeOf(const TensorProfile& p)
{
    if (p.stats && p.stats->min && p.stats->max)
        return { *p.stats->min, *p.stats->max };
    return { 0.0, 1.0 }; // numpy's range when there is no finite value
}

// Runs fn(i) for every index of `group`: small tensors side by side (fn gets one thread), large ones in turn with
// every worker.
void forEach(const std::vector<int>& group, const std::vector<std::int64_t>& numel, int threads, const std::atomic<bool>* cancel,
    const std::function<void(int index, int threads)>& fn)
{
    std::vector<int> small, large;
    for (int i : group)
        (numel[size_t(i)] < kSmall ? small : large).push_back(i);
    parallelChunks(std::int64_t(small.size()), 1, threads, [&](std::int64_t b, std::int64_t, int) { fn(small[size_t(b)], 1); }, cancel);
    for (int i : large) {
        if (cancel && cancel->load())
            return;
        fn(i, threads);
    }
}

} // namespace

Expected<std::vector<TensorProfile>> profileTensors(const Checkpoint& ck, const ProfileRequest& request,
    const ProfileProgress& progress, const std::atomic<bool>* cancel)
{
    if (request.bins < 1 || request.bins > 10'000'000)
        return Error { ErrorKind::LimitExceeded, ck.path, {}, QStringLiteral("bin count %1 outside 1..10000000").arg(request.bins) };
    std::vector<int> order = request.tensors;
    if (order.empty())
        for (int t = 0; t < int(ck.tensors.size()); ++t)
            order.push_back(t);
    std::vector<TensorProfile> out(order.size());
    std::vector<std::optional<ElementView>> views(order.size());
    std::vector<std::int64_t> numel(order.size(), 0);
    for (size_t i = 0; i < order.size(); ++i) {
        out[i].tensor = order[i];
        if (order[i] < 0 || order[i] >= int(ck.tensors.size())) {
            out[i].error = QStringLiteral("no tensor %1").arg(order[i]);
            continue;
        }
        auto v = elementViewForScan(ck, order[i]);
        if (v) {
            numel[i] = v->numel;
            views[i] = std::move(*v);
        } else {
            out[i].error = v.error().message();
        }
    }

    bool gpu = false;
#if CKPTLENS_WITH_CUDA
    gpu = request.backend != HistBackend::Cpu && cudaHistogramAvailable();
#endif
    if (request.backend == HistBackend::Cuda && !gpu)
        spdlog::warn("no CUDA device for the histograms; using the CPU");

    // Groups in file order, bounded in bytes so the GPU works on one while the CPU computes the next's statistics.
    std::vector<std::vector<int>> groups(1);
    std::int64_t groupBytes = 0;
    for (size_t i = 0; i < order.size(); ++i) {
        if (!views[i])
            continue;
        const std::int64_t bytes = numel[i] * views[i]->itemSize;
        if (!groups.back().empty() && groupBytes + bytes > request.groupBytes) {
            groups.emplace_back();
            groupBytes = 0;
        }
        groups.back().push_back(int(i));
        groupBytes += bytes;
    }

    auto cpuHistogram = [&](int i, int threads) {
        HistRequest r;
        r.bins = request.bins;
        r.range = rangeOf(out[size_t(i)]);
        r.backend = HistBackend::Cpu;
        r.threads = threads;
        r.keepPages = true; // released with its group
        auto h = computeHistogram(ck, order[size_t(i)], r, cancel);
        if (h)
            out[size_t(i)].histogram = std::move(*h);
        else if (out[size_t(i)].error.isEmpty())
            out[size_t(i)].error = h.error().message();
    };

    // A group's pages stay resident from its statistics to its histograms (one read of the page cache, not two),
    // then leave: the pass holds about a group (or its largest tensor) resident, not the file.
    auto releaseGroup = [&](const std::vector<int>& group) {
        for (int i : group)
            if (views[size_t(i)])
                releaseScannedPages(ck, order[size_t(i)], *views[size_t(i)]);
    };

    int done = int(order.size());
    for (const auto& g : groups)
        done -= int(g.size());
    const int total = int(order.size());
#if CKPTLENS_WITH_CUDA
    struct InFlight {
        std::vector<int> group;
        std::future<Expected<std::vector<std::optional<Histogram>>>> result;
    };
    std::optional<InFlight> inFlight;
    // Takes the GPU's answers for a group; whatever it did not bin goes to the CPU.
    auto collect = [&](InFlight& f) {
        auto r = f.result.get();
        if (!r && !(cancel && cancel->load()))
            spdlog::warn("CUDA histograms failed ({}); using the CPU", r.error().what.toStdString());
        std::vector<int> rest;
        for (size_t k = 0; k < f.group.size(); ++k) {
            const int i = f.group[k];
            if (r && (*r)[k]) {
                (*r)[k]->milliseconds = 0;
                out[size_t(i)].histogram = std::move(*(*r)[k]);
            } else {
                rest.push_back(i);
            }
        }
        forEach(rest, numel, request.threads, cancel, cpuHistogram);
        releaseGroup(f.group);
        done += int(f.group.size());
        if (progress)
            progress(done, total);
    };
#endif
    for (const auto& group : groups) {
        if (cancel && cancel->load())
            break;
        forEach(group, numel, request.threads, cancel, [&](int i, int threads) {
            auto s = computeStats(ck, order[size_t(i)], threads, cancel, ScanPages::Keep);
            if (s)
                out[size_t(i)].stats = *s;
            else
                out[size_t(i)].error = s.error().message();
        });
        std::vector<int> binnable;
        for (int i : group)
            if (out[size_t(i)].stats)
                binnable.push_back(i);
#if CKPTLENS_WITH_CUDA
        if (gpu) {
            if (inFlight)
                collect(*inFlight);
            std::vector<HistBatchItem> items;
            for (int i : binnable) {
                const auto [lo, hi] = rangeOf(out[size_t(i)]);
                items.push_back(HistBatchItem { *views[size_t(i)], lo, hi });
            }
            done += int(group.size() - binnable.size());
            inFlight = InFlight { binnable, std::async(std::launch::async, [items = std::move(items), bins = request.bins, cancel] {
                return cudaHistogramBatch(items, bins, cancel);
            }) };
            continue;
        }
#endif
        forEach(binnable, numel, request.threads, cancel, cpuHistogram);
        releaseGroup(group);
        done += int(group.size());
        if (progress)
            progress(done, total);
    }
#if CKPTLENS_WITH_CUDA
    if (inFlight)
        collect(*inFlight);
#endif
    if (cancel && cancel->load())
        return Error { ErrorKind::Io, ck.path, {}, QStringLiteral("cancelled") };
    return out;
}

} // namespace ckpt
