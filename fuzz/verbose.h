#pragma once
// CKPTLENS_FUZZ_VERBOSE=1 makes a fuzzer say what became of each input: for triaging a reproducer.

#include "io/error.h"

#include <cstdio>
#include <cstdlib>

namespace ckpt::fuzz {

inline bool verbose()
{
    static const bool v = std::getenv("CKPTLENS_FUZZ_VERBOSE") != nullptr;
    return v;
}

inline void report(const char* what, const Error& e)
{
    if (verbose())
        std::fprintf(stderr, "%s: %s\n", what, qPrintable(e.message()));
}

} // namespace ckpt::fuzz
