#include "widgets/checkpointload.h"

#include "model/layerprofile.h"
#include "model/semantic.h"
#include "model/tensornames.h"

#include <QElapsedTimer>
#include <QFileInfo>

namespace ckpt {

LoadedCheckpoint loadCheckpoint(const QString& path)
{
    QElapsedTimer timer;
    timer.start();
    LoadedCheckpoint out;
    out.path = QFileInfo(path).absoluteFilePath();
    out.checkpoint = openCheckpoint(out.path);
    if (out.checkpoint) {
        const CheckpointPtr& ck = *out.checkpoint;
        out.scan = scanCheckpoint(*ck); // reads only the pickles (of every file of a set): milliseconds
        out.summary = std::make_shared<const CheckpointSummary>(summarize(*ck, kSummaryTextKeys));
        out.sem = std::make_shared<const Semantic>(analyze(*ck));
        out.names = std::make_shared<TensorNames>(ck, out.sem);
        out.overview = overview(*ck, *out.sem, *out.names);
        for (int node : repeatedBlocks(out.sem->modules))
            out.blocks.emplace_back(out.sem->modules.nodes[size_t(node)].fullName, node);
    } else {
        out.scan = scanFile(out.path); // what a file that does not open would have run
    }
    out.milliseconds = timer.elapsed();
    return out;
}

} // namespace ckpt
