#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through ctest (no GPU, no display needed).
set -euo pipefail
cd "$(dirname "$0")"
source .ci/ensure-deps.sh
# python3-torch writes the fixtures; clang + libclang-rt build the libFuzzer targets. The rest is for the packaging
# tests: the desktop tools validate the packaging files (desktop-file-utils, appstream, libxml2-utils, librsvg2-bin
# re-renders the icons), xdg-utils + libfile-mimeinfo-perl (xdg-mime's shared-mime-info lookup) + xvfb/xauth +
# xdotool/x11-utils open a checkpoint the way a desktop does, dpkg-dev + file let cpack compute the .deb's Depends.
ckptlens_ensure_deps python3-torch python3-numpy clang libclang-rt-14-dev desktop-file-utils appstream libxml2-utils \
    librsvg2-bin shared-mime-info xdg-utils libfile-mimeinfo-perl xvfb xauth xdotool x11-utils dpkg-dev file
ckptlens_build build Release -DCKPTLENS_BUILD_FUZZ=ON "$@"
export QT_QPA_PLATFORM=offscreen
cd build
ctest --output-on-failure --no-tests=error --timeout 1200
cd ..

# The whole suite again, built with AddressSanitizer and UBSan (CKPTLENS_SANITIZE instruments the project's targets;
# Qt and the system libraries are not): Debug for the asserts, at -O1, ASan's own advice, since -O0 makes the big-file
# tests several times slower, and with line tables only (-g1): stacks keep file:line, the build and links are much
# lighter than with full debug info. No CUDA (nvcc code is not instrumented) and no fuzzers: they already ran sanitized
# above. CI runs this; CKPTLENS_SKIP_SANITIZE=1 skips it for a quicker local check. The gen_fixtures test writes the
# torch fixtures again into this tree.
if [ "${CKPTLENS_SKIP_SANITIZE:-0}" = 1 ]; then
    echo "CKPTLENS_SKIP_SANITIZE=1: the sanitizer build and run are skipped"
    exit 0
fi
ckptlens_build build-asan Debug "$@" "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O1" -DCKPTLENS_SANITIZE=ON -DCKPTLENS_CUDA=OFF \
    -DCKPTLENS_BUILD_FUZZ=OFF
# The asan test preset (CMakePresets.json) runs it, with these settings:
#  - ASAN_OPTIONS=detect_leaks=0: ckptlens-cli never frees the parsed checkpoint, on purpose (tearing down millions of
#    objects costs more than the rest of a big `info`, see app/cli.cpp), so LeakSanitizer fails every run of it, and
#    the tests that run it inherit these options; a suppression would have to name our own main(). Overflows, use
#    after free and double free are all still fatal.
#  - UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 (and -fno-sanitize-recover=undefined): undefined behaviour
#    fails the test, with the stack.
#  - left out: tst_corruptcorpus runs ckptlens-cli under `ulimit -v` of 1 GiB, which ASan cannot start in (its shadow
#    memory reserves terabytes of address space); tst_windowwatchdog asserts a wall-clock figure (event-loop gaps under
#    100 ms) that holds for optimized code, and ASan's slowdown of the GUI thread breaks it (150 ms measured);
#    package_deb packages the build for shipping, and a sanitized build is never shipped (its Depends would name
#    libasan and libubsan). All three ran in the Release suite above.
ctest --preset asan
