#pragma once

#include <QObject>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace ckpt {

// One computation at a time off the GUI thread, where only the latest one matters (the heat map of what is
// selected now): starting another cancels the one running, and a result is handed to `done` on this object's
// thread only while no newer start() came after it.
class LatestTask : public QObject {
public:
    using QObject::QObject;
    ~LatestTask() override { stop(); }

    template <typename T>
    void start(std::function<T(const std::atomic<bool>& cancel)> work, std::function<void(T)> done)
    {
        stop();
        const quint64 generation = m_generation;
        auto cancel = std::make_shared<std::atomic<bool>>(false);
        m_cancel = cancel;
        m_thread = std::thread([this, generation, cancel, work = std::move(work), done = std::move(done)] {
            T result = work(*cancel);
            if (cancel->load())
                return;
            // The destructor joins this thread before the object goes, so `this` is alive here.
            QMetaObject::invokeMethod(
                this,
                [this, generation, done, result = std::move(result)]() mutable {
                    if (generation == m_generation)
                        done(std::move(result));
                },
                Qt::QueuedConnection);
        });
    }

    // Cancels what runs and drops its result.
    void stop()
    {
        ++m_generation;
        if (m_cancel)
            m_cancel->store(true);
        if (m_thread.joinable())
            m_thread.join();
        m_cancel.reset();
    }

private:
    quint64 m_generation = 0;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::thread m_thread;
};

} // namespace ckpt
