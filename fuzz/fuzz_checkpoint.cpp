// libFuzzer target: arbitrary bytes as a checkpoint file through ckpt::openCheckpoint, which sniffs the format and
// runs the torch zip (zip directory, deflated records), legacy (chained pickles + raw storages) or safetensors
// reader; what opens has its storages and tensors read back. The same bytes then go through ckpt::scanPickles,
// the safety scan that interprets every pickle of a file.
#include "exercise.h"
#include "memfile.h"
#include "verbose.h"

#include "io/checkpoint.h"
#include "io/picklescan.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>

using namespace ckpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    static fuzz::MemFile file;
    file.set(data, size);
    {
        auto ck = openCheckpoint(file.path());
        if (ck)
            fuzz::exercise(**ck);
        else
            fuzz::report("openCheckpoint", ck.error());
    }
    auto scan = scanPickles(file.path());
    if (!scan)
        fuzz::report("scanPickles", scan.error());
    else if (fuzz::verbose())
        std::fprintf(stderr, "scanPickles: %zu pickles\n", scan->pickles.size());
    return 0;
}
