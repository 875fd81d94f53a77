#include "model/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace ckpt {

int defaultThreadCount()
{
    return std::max(1u, std::thread::hardware_concurrency());
}

bool parallelChunks(std::int64_t total, std::int64_t chunk, int threads,
    const std::function<void(std::int64_t, std::int64_t, int)>& fn, const std::atomic<bool>* cancel)
{
    if (total <= 0)
        return !(cancel && cancel->load());
    chunk = std::max<std::int64_t>(chunk, 1);
    const std::int64_t chunks = (total + chunk - 1) / chunk;
    const int workers = int(std::min<std::int64_t>(threads > 0 ? threads : defaultThreadCount(), chunks));
    std::atomic<std::int64_t> next { 0 };
    auto work = [&](int worker) {
        for (;;) {
            if (cancel && cancel->load(std::memory_order_relaxed))
                return;
            const std::int64_t c = next.fetch_add(1, std::memory_order_relaxed);
            if (c >= chunks)
                return;
            const std::int64_t begin = c * chunk;
            fn(begin, std::min(chunk, total - begin), worker);
        }
    };
    if (workers <= 1) {
        work(0);
    } else {
        std::vector<std::thread> pool;
        pool.reserve(size_t(workers - 1));
        for (int w = 1; w < workers; ++w)
            pool.emplace_back(work, w);
        work(0);
        for (auto& t : pool)
            t.join();
    }
    return !(cancel && cancel->load());
}

} // namespace ckpt
