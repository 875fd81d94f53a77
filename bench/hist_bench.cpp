// ckptlens-bench-hist FILE KEY|--all [--bins N] [--reps N] [--range LO HI] [--backend cpu|cuda|auto] [--diff OTHER] [--stats]
// Times computeHistogram (one tensor), profileTensors (--all: statistics + histograms of every tensor) or
// comparePair (--diff OTHER: KEY in FILE against KEY in OTHER; bytes counts both) or computeStats (--stats) REPS
// times in one process after one untimed warm-up run, and prints one JSON object: the runs in ms, best and median,
// GB/s over the tensor bytes, the backend that ran and the peak RSS. Timings only; nothing is asserted.
#include "model/diff.h"
#include "model/histogram.h"
#include "model/tensorlist.h"
#include "model/tensorprofile.h"
#include "model/tensorstats.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

using namespace ckpt;

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3) {
        std::fprintf(stderr, "usage: ckptlens-bench-hist FILE KEY|--all [--bins N] [--reps N] [--range LO HI] [--backend cpu|cuda|auto]\n");
        return 2;
    }
    HistRequest request;
    int reps = 5;
    QString other;
    bool stats = false;
    for (int i = 3; i < args.size(); ++i) {
        if (args[i] == QLatin1String("--bins") && i + 1 < args.size())
            request.bins = args[++i].toInt();
        else if (args[i] == QLatin1String("--reps") && i + 1 < args.size())
            reps = std::max(1, args[++i].toInt());
        else if (args[i] == QLatin1String("--range") && i + 2 < args.size()) {
            request.range = std::pair { args[i + 1].toDouble(), args[i + 2].toDouble() };
            i += 2;
        } else if (args[i] == QLatin1String("--stats")) {
            stats = true;
        } else if (args[i] == QLatin1String("--diff") && i + 1 < args.size()) {
            other = args[++i];
        } else if (args[i] == QLatin1String("--backend") && i + 1 < args.size()) {
            const QString b = args[++i];
            request.backend = b == QLatin1String("cpu") ? HistBackend::Cpu : b == QLatin1String("cuda") ? HistBackend::Cuda : HistBackend::Auto;
        } else {
            std::fprintf(stderr, "ckptlens-bench-hist: unknown argument %s\n", qPrintable(args[i]));
            return 2;
        }
    }
    QElapsedTimer openTimer;
    openTimer.start();
    auto ck = openCheckpoint(args[1]);
    if (!ck) {
        std::fprintf(stderr, "ckptlens-bench-hist: %s\n", qPrintable(ck.error().message()));
        return 2;
    }
    const double openMs = double(openTimer.nsecsElapsed()) / 1e6;
    const bool all = args[2] == QLatin1String("--all");
    int tensor = -1;
    std::int64_t bytes = 0;
    int count = 0;
    for (const auto& e : listTensors(**ck)) {
        const TensorInfo& t = (*ck)->tensors[size_t(e.tensor)];
        std::int64_t n = 1;
        for (auto d : t.shape)
            n *= d;
        if (all) {
            bytes += n * dtypeItemSize(t.dtype);
            ++count;
        } else if (e.path.join(QLatin1Char('.')) == args[2]) {
            tensor = e.tensor;
            bytes = n * dtypeItemSize(t.dtype);
            count = 1;
        }
    }
    if (!all && tensor < 0) {
        std::fprintf(stderr, "ckptlens-bench-hist: no tensor %s\n", qPrintable(args[2]));
        return 2;
    }
    CheckpointPtr second;
    if (!other.isEmpty()) {
        auto o = openCheckpoint(other);
        if (!o) {
            std::fprintf(stderr, "ckptlens-bench-hist: %s\n", qPrintable(o.error().message()));
            return 2;
        }
        second = *o;
        bytes *= 2;
    }
    QString backend;
    auto once = [&]() -> bool {
        if (stats) {
            backend = QStringLiteral("cpu");
            return bool(computeStats(**ck, tensor));
        }
        if (second) {
            auto m = comparePair(**ck, tensor, *second, tensor, 1e-5, 1e-8, 0, nullptr, request.backend);
            if (m)
                backend = m->backend;
            return bool(m);
        }
        if (all) {
            ProfileRequest pr;
            pr.bins = request.bins;
            pr.backend = request.backend;
            auto p = profileTensors(**ck, pr);
            if (!p)
                return false;
            QStringList seen;
            for (const auto& t : *p)
                if (t.histogram && !seen.contains(t.histogram->backend))
                    seen << t.histogram->backend;
            seen.sort();
            backend = seen.join(QLatin1Char('+'));
            return true;
        }
        auto h = computeHistogram(**ck, tensor, request);
        if (h)
            backend = h->backend;
        return bool(h);
    };
    QElapsedTimer timer;
    timer.start();
    if (!once()) {
        std::fprintf(stderr, "ckptlens-bench-hist: the run failed\n");
        return 2;
    }
    const double warmMs = double(timer.nsecsElapsed()) / 1e6;
    std::vector<double> runs;
    for (int r = 0; r < reps; ++r) {
        timer.restart();
        once();
        runs.push_back(double(timer.nsecsElapsed()) / 1e6);
    }
    std::vector<double> sorted = runs;
    std::sort(sorted.begin(), sorted.end());
    rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    QJsonArray runArray;
    for (double r : runs)
        runArray.append(r);
    const QJsonObject out { { QStringLiteral("backend"), backend }, { QStringLiteral("device"), cudaDescription() },
        { QStringLiteral("tensors"), count }, { QStringLiteral("bytes"), qint64(bytes) }, { QStringLiteral("open_ms"), openMs },
        { QStringLiteral("first_ms"), warmMs }, { QStringLiteral("runs_ms"), runArray }, { QStringLiteral("best_ms"), sorted.front() },
        { QStringLiteral("median_ms"), sorted[sorted.size() / 2] }, { QStringLiteral("gbps_best"), double(bytes) / sorted.front() / 1e6 },
        { QStringLiteral("gbps_median"), double(bytes) / sorted[sorted.size() / 2] / 1e6 }, { QStringLiteral("peak_rss_kib"), qint64(ru.ru_maxrss) } };
    std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Compact).constData());
    return 0;
}
