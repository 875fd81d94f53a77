// libFuzzer target: arbitrary bytes as a checkpoint file through ckpt::openCheckpoint, which sniffs the format and
// runs the torch zip (QuaZip directory, deflated records), legacy (chained pickles + raw storages) or safetensors
// reader; what opens has its storages and tensors read back.
#include "exercise.h"
#include "memfile.h"
#include "verbose.h"

#include "io/checkpoint.h"

#include <cstddef>
#include <cstdint>

using namespace ckpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    static fuzz::MemFile file;
    file.set(data, size);
    auto ck = openCheckpoint(file.path());
    if (!ck) {
        fuzz::report("openCheckpoint", ck.error());
        return 0;
    }
    fuzz::exercise(**ck);
    return 0;
}
