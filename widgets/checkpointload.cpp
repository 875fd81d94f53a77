#include "widgets/checkpointload.h"

#include "model/layerprofile.h"
#include "model/semantic.h"
#include "model/tensornames.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <exception>
#include <future>
#include <new>

#include <spdlog/spdlog.h>

namespace ckpt {

LoadedCheckpoint loadCheckpoint(const QString& path)
{
    QElapsedTimer timer;
    timer.start();
    LoadedCheckpoint out;
    out.path = QFileInfo(path).absoluteFilePath();
    // The safety scan parses the file's pickles again on its own (what they would run, not what we interpret), so
    // for a single file it runs on a second core beside the open and the analysis: for 60,000 tensors it takes as
    // long as the open. A set (folder, shard index) is scanned from its opened parts instead.
    std::future<Expected<SafetyReport>> scan;
    if (QFileInfo(out.path).isFile() && !out.path.endsWith(QLatin1String(".index.json"))) {
        try {
            scan = std::async(std::launch::async, [file = out.path] { return scanFile(file); });
        } catch (const std::exception&) {
            // no thread to be had (system_error, bad_alloc): scanned below, in turn
        }
    }
    out.checkpoint = openCheckpoint(out.path);
    const qint64 opened = timer.elapsed();
    if (out.checkpoint) {
        const CheckpointPtr& ck = *out.checkpoint;
        if (scan.valid() && !ck->parts.empty()) {
            scan.wait(); // the file turned out to stand for a set: every part is scanned instead
            scan = {};
        }
        if (!scan.valid())
            out.scan = scanCheckpoint(*ck); // reads only the pickles (of every file of a set)
        out.summary = std::make_shared<const CheckpointSummary>(summarize(*ck, kSummaryTextKeys));
        out.sem = std::make_shared<const Semantic>(analyze(*ck));
        out.names = std::make_shared<TensorNames>(ck, out.sem);
        out.overview = overview(*ck, *out.sem, *out.names);
        for (int node : repeatedBlocks(out.sem->modules))
            out.blocks.emplace_back(out.sem->modules.nodes[size_t(node)].fullName, node);
    } else if (!scan.valid()) {
        out.scan = scanFile(out.path); // what a file that does not open would have run
    }
    const qint64 analysed = timer.elapsed();
    if (scan.valid()) {
        try {
            out.scan = scan.get();
        } catch (const std::bad_alloc&) {
            out.scan = Error { ErrorKind::LimitExceeded, out.path, {}, QStringLiteral("out of memory while scanning the pickles") };
        }
    }
    out.milliseconds = timer.elapsed();
    spdlog::debug("loaded {}: opened in {} ms, analysed in {} ms, then waited {} ms for the safety scan", out.path.toStdString(),
        opened, analysed - opened, out.milliseconds - analysed);
    return out;
}

} // namespace ckpt
