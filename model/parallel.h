#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ckpt {

// Runs fn(begin, count, worker) over [0, total) in chunks of `chunk` on `threads` workers (0: one per core),
// each chunk exactly once. Stops handing out chunks once `cancel` is set. Returns false when cancelled.
bool parallelChunks(std::int64_t total, std::int64_t chunk, int threads,
    const std::function<void(std::int64_t begin, std::int64_t count, int worker)>& fn,
    const std::atomic<bool>* cancel = nullptr);

// parallelChunks over [0, total) one window of `window` elements after another (rounded up to whole chunks), with
// afterWindow(begin, count) called between them, once every chunk of the window is done and before the next one
// starts. Scans of a mapped tensor release each window's pages there: a pass over a multi-GB tensor then holds one
// window resident, not the tensor. Workers are numbered the same in every window. False when cancelled.
bool parallelWindows(std::int64_t total, std::int64_t chunk, std::int64_t window, int threads,
    const std::function<void(std::int64_t begin, std::int64_t count, int worker)>& fn,
    const std::function<void(std::int64_t begin, std::int64_t count)>& afterWindow,
    const std::atomic<bool>* cancel = nullptr);

int defaultThreadCount();

// parallelChunks on threads that stay: for callers that split many short pieces of work in a row (a 64 MiB chunk
// gathered every millisecond or two), where starting threads each time would cost a noticeable share. The caller's
// thread works too (worker 0). One run at a time per pool. An exception from fn is rethrown by run() after every
// chunk is done (the other chunks still run), so fn is never called after run() returns.
class WorkerPool {
public:
    using Fn = std::function<void(std::int64_t begin, std::int64_t count, int worker)>;
    explicit WorkerPool(int threads = 0); // 0: one per core
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void run(std::int64_t total, std::int64_t chunk, const Fn& fn);
    int threads() const { return int(m_threads.size()) + 1; }

private:
    struct Job;
    void drain(Job& job, int worker);
    void loop(int worker);

    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_wake, m_done;
    std::shared_ptr<Job> m_job;
    std::uint64_t m_generation = 0;
    bool m_stop = false;
};

} // namespace ckpt
