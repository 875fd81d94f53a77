#include "model/statsjob.h"

#include "model/parallel.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFileInfo>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ckpt {

struct StatsJob::FileResults {
    QString key;
    std::vector<std::optional<StatsResult>> results;
    int known = 0;
};

// What the worker thread and the GUI thread share; everything but the atomics under `mutex`.
struct StatsJob::Run {
    enum class Interrupt { None, Cancel, Preempt };

    CheckpointPtr ck;
    quint64 generation = 0;
    int threads = 1;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<int> priority;
    bool all = false;
    size_t cursor = 0;           // next tensor of the background run
    std::vector<char> done;      // computed (or known from the cache) for this file
    int current = -1;
    bool currentFromAll = false;
    Interrupt why = Interrupt::None;
    bool stop = false;
    std::atomic<bool> interrupt { false };
    std::thread thread;

    void work(StatsJob* job);
};

namespace {

QString fileKey(const Checkpoint& ck)
{
    const QFileInfo info(ck.path);
    return QStringLiteral("%1\n%2\n%3")
        .arg(info.absoluteFilePath())
        .arg(info.size())
        .arg(info.lastModified().toMSecsSinceEpoch());
}

} // namespace

void StatsJob::Run::work(StatsJob* job)
{
    StatsBatch pending;
    QElapsedTimer sinceFlush;
    sinceFlush.start();
    const auto flush = [&](bool allDone) {
        if (pending.empty() && !allDone)
            return;
        // Queued to the job's (GUI) thread; the job joins this thread before it dies, so `job` outlives the call.
        QMetaObject::invokeMethod(
            job, [job, gen = generation, batch = std::move(pending), allDone] { job->deliver(gen, batch, allDone); },
            Qt::QueuedConnection);
        pending.clear();
        sinceFlush.restart();
    };
    const size_t count = ck->tensors.size();
    for (;;) {
        int tensor = -1;
        bool fromAll = false;
        {
            std::unique_lock lock(mutex);
            for (;;) {
                while (!priority.empty() && done[size_t(priority.front())])
                    priority.pop_front();
                while (all && cursor < count && done[cursor])
                    ++cursor;
                if (stop || !priority.empty() || (all && cursor < count))
                    break;
                const bool finishedAll = all && cursor >= count;
                if (finishedAll)
                    all = false;
                lock.unlock();
                flush(finishedAll);
                lock.lock();
                if (stop || !priority.empty() || all)
                    continue;
                wake.wait(lock);
            }
            if (stop)
                return;
            if (!priority.empty()) {
                tensor = priority.front();
                priority.pop_front();
            } else {
                tensor = int(cursor++);
                fromAll = true;
            }
            current = tensor;
            currentFromAll = fromAll;
            why = Interrupt::None;
            interrupt.store(false);
        }

        auto stats = computeStats(*ck, tensor, threads, &interrupt);

        bool requeue = false;
        {
            std::lock_guard lock(mutex);
            current = -1;
            if (stop)
                return;
            if (!stats && why != Interrupt::None) {
                if (why == Interrupt::Preempt)
                    requeue = true;
                else
                    continue;
            } else {
                done[size_t(tensor)] = 1;
            }
            if (requeue) {
                cursor = std::min(cursor, size_t(tensor));
                continue;
            }
        }
        StatsResult r;
        r.tensor = tensor;
        if (stats)
            r.stats = *stats;
        else
            r.error = stats.error().what;
        pending.push_back(std::move(r));
        // What someone is looking at goes out at once; the background run in batches.
        if (!fromAll || sinceFlush.elapsed() >= kBatchMs)
            flush(false);
    }
}

StatsJob::StatsJob(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<StatsBatch>();
}

StatsJob::~StatsJob()
{
    stopRun();
}

void StatsJob::stopRun()
{
    if (!m_run)
        return;
    {
        std::lock_guard lock(m_run->mutex);
        m_run->stop = true;
        m_run->interrupt.store(true);
    }
    m_run->wake.notify_all();
    m_run->thread.join();
    m_run.reset();
}

void StatsJob::setCheckpoint(CheckpointPtr ck)
{
    stopRun();
    ++m_generation;
    const bool wasRunning = m_running;
    m_running = false;
    m_ck = std::move(ck);
    m_results.reset();
    if (wasRunning)
        emit finished(true);
    if (!m_ck)
        return;

    const QString key = fileKey(*m_ck);
    for (auto it = m_cache.begin(); it != m_cache.end(); ++it)
        if ((*it)->key == key && (*it)->results.size() == m_ck->tensors.size()) {
            m_results = *it;
            m_cache.erase(it);
            break;
        }
    if (!m_results) {
        m_results = std::make_shared<FileResults>();
        m_results->key = key;
        m_results->results.resize(m_ck->tensors.size());
    }
    m_cache.push_front(m_results);
    while (m_cache.size() > size_t(kCachedFiles))
        m_cache.pop_back();

    m_run = std::make_unique<Run>();
    m_run->ck = m_ck;
    m_run->generation = m_generation;
    m_run->threads = m_threads > 0 ? m_threads : std::max(1, defaultThreadCount() - 1);
    m_run->done.resize(m_ck->tensors.size());
    for (size_t i = 0; i < m_results->results.size(); ++i)
        m_run->done[i] = m_results->results[i].has_value();
    m_run->thread = std::thread([run = m_run.get(), this] { run->work(this); });
    spdlog::debug("statistics: {} ({} of {} tensors cached)", m_ck->path.toStdString(), m_results->known,
        m_ck->tensors.size());
}

void StatsJob::request(const std::vector<int>& tensors)
{
    if (!m_run)
        return;
    StatsBatch known;
    {
        std::lock_guard lock(m_run->mutex);
        for (auto it = tensors.rbegin(); it != tensors.rend(); ++it) {
            const int t = *it;
            if (t < 0 || size_t(t) >= m_run->done.size())
                continue;
            if (const StatsResult* r = result(t)) {
                known.insert(known.begin(), *r);
                continue;
            }
            m_run->priority.push_front(t);
            if (m_run->current >= 0 && m_run->currentFromAll && m_run->current != t
                && m_ck->tensors[size_t(m_run->current)].numel() >= kPreemptElements) {
                m_run->why = Run::Interrupt::Preempt;
                m_run->interrupt.store(true);
            }
        }
    }
    m_run->wake.notify_all();
    if (!known.empty())
        QMetaObject::invokeMethod(
            this, [this, gen = m_generation, known] { deliver(gen, known, false); }, Qt::QueuedConnection);
}

void StatsJob::startAll()
{
    if (!m_run || m_running)
        return;
    m_running = true;
    {
        std::lock_guard lock(m_run->mutex);
        m_run->all = true;
        m_run->cursor = 0;
    }
    m_run->wake.notify_all();
    emit progress(knownCount(), tensorCount());
}

void StatsJob::cancel()
{
    if (!m_run)
        return;
    {
        std::lock_guard lock(m_run->mutex);
        m_run->all = false;
        m_run->priority.clear();
        if (m_run->current >= 0) {
            m_run->why = Run::Interrupt::Cancel;
            m_run->interrupt.store(true);
        }
    }
    if (m_running) {
        m_running = false;
        spdlog::info("statistics cancelled at {} of {} tensors", knownCount(), tensorCount());
        emit finished(true);
    }
}

void StatsJob::deliver(quint64 generation, const StatsBatch& batch, bool allDone)
{
    if (generation != m_generation || !m_results)
        return;
    StatsBatch fresh;
    fresh.reserve(batch.size());
    for (const StatsResult& r : batch) {
        auto& slot = m_results->results[size_t(r.tensor)];
        if (!slot) {
            slot = r;
            ++m_results->known;
        }
        fresh.push_back(r);
    }
    if (!fresh.empty())
        emit resultsReady(generation, fresh);
    if (m_running) {
        emit progress(knownCount(), tensorCount());
        if (allDone || knownCount() == tensorCount()) {
            m_running = false;
            emit finished(false);
        }
    }
}

const StatsResult* StatsJob::result(int tensor) const
{
    if (!m_results || tensor < 0 || size_t(tensor) >= m_results->results.size())
        return nullptr;
    const auto& slot = m_results->results[size_t(tensor)];
    return slot ? &*slot : nullptr;
}

int StatsJob::knownCount() const
{
    return m_results ? m_results->known : 0;
}

int StatsJob::tensorCount() const
{
    return m_ck ? int(m_ck->tensors.size()) : 0;
}

} // namespace ckpt
