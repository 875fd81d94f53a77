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
    out.scan = scanFile(out.path); // reads only the pickles: milliseconds
    if (out.checkpoint) {
        const CheckpointPtr& ck = *out.checkpoint;
        out.summary = std::make_shared<const CheckpointSummary>(summarize(*ck));
        out.sem = std::make_shared<const Semantic>(analyze(*ck));
        out.names = std::make_shared<TensorNames>(ck, out.sem);
        out.overview = overview(*ck, *out.sem, *out.names);
        for (int node : repeatedBlocks(out.sem->modules))
            out.blocks.emplace_back(out.sem->modules.nodes[size_t(node)].fullName, node);
    }
    out.milliseconds = timer.elapsed();
    return out;
}

} // namespace ckpt
