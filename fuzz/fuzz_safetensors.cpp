// libFuzzer target: arbitrary bytes as a safetensors file, memory-mapped through MappedFile (from a memfd) and
// read by ckpt::readSafetensors; what opens is validated and its tensors read back.
#include "exercise.h"
#include "memfile.h"
#include "verbose.h"

#include "io/checkpoint.h"
#include "io/mappedfile.h"

#include <cstddef>
#include <cstdint>

using namespace ckpt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    static fuzz::MemFile file;
    file.set(data, size);
    auto mapped = MappedFile::open(file.path());
    if (!mapped) {
        fuzz::report("MappedFile::open", mapped.error());
        return 0;
    }
    auto ck = readSafetensors(*mapped);
    if (!ck) {
        fuzz::report("readSafetensors", ck.error());
        return 0;
    }
    (*ck)->validate();
    fuzz::exercise(**ck);
    return 0;
}
