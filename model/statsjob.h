#pragma once

#include "io/checkpoint.h"
#include "model/statsresult.h"

#include <QObject>

#include <deque>
#include <memory>

namespace ckpt {

// Tensor statistics off the GUI thread. One worker thread per open file computes what is asked for first
// (request), then, once started, every other tensor in file order (startAll). Results reach the GUI thread in
// throttled batches, tagged with the generation they belong to: switching files bumps the generation, so late
// results of the previous file are dropped instead of landing on the new one. What was computed for a file is kept
// (per path, size and modification time) and served again when the file is reopened.
class StatsJob : public QObject {
    Q_OBJECT
public:
    explicit StatsJob(QObject* parent = nullptr);
    ~StatsJob() override;

    // nullptr: no file. Stops work on the previous file; does not start anything on the new one.
    void setCheckpoint(CheckpointPtr ck);
    const CheckpointPtr& checkpoint() const { return m_ck; }
    quint64 generation() const { return m_generation; }

    // Computes these tensors ahead of everything queued, the first one first; a background tensor of
    // kPreemptElements or more in progress is set aside and redone later. Known ones are delivered again.
    void request(const std::vector<int>& tensors);
    void request(int tensor) { request(std::vector<int> { tensor }); }
    // Every tensor not known yet, behind requests; progress() follows, then finished().
    void startAll();
    // Stops the background run and the tensor in progress; what is known stays known.
    void cancel();
    bool isRunning() const { return m_running; }

    // Known results of the current file (GUI thread).
    const StatsResult* result(int tensor) const;
    int knownCount() const;
    int tensorCount() const;

    // Workers for one tensor (0: all cores but one). Results do not depend on it but for the last bits of sums.
    void setThreads(int threads) { m_threads = threads; }
    static constexpr std::int64_t kPreemptElements = 1 << 20;
    static constexpr int kCachedFiles = 4;
    static constexpr int kBatchMs = 100;

signals:
    void resultsReady(quint64 generation, const ckpt::StatsBatch& batch);
    void progress(int done, int total);
    void finished(bool cancelled);

private:
    struct Run;
    struct FileResults;
    void stopRun();
    void deliver(quint64 generation, const StatsBatch& batch, bool allDone);

    CheckpointPtr m_ck;
    quint64 m_generation = 0;
    std::unique_ptr<Run> m_run;
    std::shared_ptr<FileResults> m_results;
    std::deque<std::shared_ptr<FileResults>> m_cache; // most recent first
    bool m_running = false;
    int m_threads = 0;
};

} // namespace ckpt

Q_DECLARE_METATYPE(ckpt::StatsBatch)
