#include "model/parallel.h"

#include <algorithm>
#include <exception>
#include <system_error>
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
        // A thread that cannot start (EAGAIN: a thread limit, or no address space for its stack under ulimit -v)
        // leaves its chunks to the others: the work is the same, only slower.
        for (int w = 1; w < workers; ++w) {
            try {
                pool.emplace_back(work, w);
            } catch (const std::system_error&) {
                break;
            }
        }
        work(0);
        for (auto& t : pool)
            t.join();
    }
    return !(cancel && cancel->load());
}

bool parallelWindows(std::int64_t total, std::int64_t chunk, std::int64_t window, int threads,
    const std::function<void(std::int64_t, std::int64_t, int)>& fn,
    const std::function<void(std::int64_t, std::int64_t)>& afterWindow, const std::atomic<bool>* cancel)
{
    chunk = std::max<std::int64_t>(chunk, 1);
    window = std::max<std::int64_t>((window + chunk - 1) / chunk, 1) * chunk;
    if (total <= 0)
        return !(cancel && cancel->load());
    // The worker count is fixed by the whole range, as parallelChunks would fix it: a short last window does not
    // renumber anyone.
    const int workers = int(std::min<std::int64_t>(threads > 0 ? threads : defaultThreadCount(), (total + chunk - 1) / chunk));
    for (std::int64_t from = 0; from < total; from += window) {
        const std::int64_t n = std::min(window, total - from);
        const bool done = parallelChunks(
            n, chunk, workers, [&](std::int64_t begin, std::int64_t count, int w) { fn(from + begin, count, w); }, cancel);
        if (afterWindow)
            afterWindow(from, n);
        if (!done)
            return false;
    }
    return !(cancel && cancel->load());
}

struct WorkerPool::Job {
    const Fn* fn = nullptr;
    std::int64_t total = 0, chunk = 1, chunks = 0;
    std::atomic<std::int64_t> next { 0 }, finished { 0 };
    std::mutex errorMutex;
    std::exception_ptr error; // the first exception a chunk threw, rethrown by run() once every chunk is done
};

WorkerPool::WorkerPool(int threads)
{
    const int n = threads > 0 ? threads : defaultThreadCount();
    for (int w = 1; w < n; ++w) {
        try {
            m_threads.emplace_back([this, w] { loop(w); });
        } catch (const std::system_error&) {
            break; // fewer threads (see parallelChunks); the caller's own thread always works
        }
    }
}

WorkerPool::~WorkerPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads)
        t.join();
}

void WorkerPool::drain(Job& job, int worker)
{
    for (;;) {
        const std::int64_t c = job.next.fetch_add(1);
        if (c >= job.chunks)
            return;
        const std::int64_t begin = c * job.chunk;
        try {
            (*job.fn)(begin, std::min(job.chunk, job.total - begin), worker);
        } catch (...) {
            std::lock_guard lock(job.errorMutex);
            if (!job.error)
                job.error = std::current_exception();
        }
        if (job.finished.fetch_add(1) + 1 == job.chunks) {
            std::lock_guard lock(m_mutex);
            m_done.notify_all();
        }
    }
}

void WorkerPool::loop(int worker)
{
    std::uint64_t seen = 0;
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop)
                return;
            seen = m_generation;
            job = m_job;
        }
        // A worker that wakes after the job is done finds no chunk left and never touches fn.
        drain(*job, worker);
    }
}

void WorkerPool::run(std::int64_t total, std::int64_t chunk, const Fn& fn)
{
    if (total <= 0)
        return;
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->total = total;
    job->chunk = std::max<std::int64_t>(chunk, 1);
    job->chunks = (total + job->chunk - 1) / job->chunk;
    if (job->chunks > 1 && !m_threads.empty()) {
        {
            std::lock_guard lock(m_mutex);
            m_job = job;
            ++m_generation;
        }
        m_wake.notify_all();
    }
    drain(*job, 0);
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return job->finished.load() == job->chunks; });
    if (job->error)
        std::rethrow_exception(job->error);
}

} // namespace ckpt
