# ckptlens_add_fuzz_tests(<folder holding the fuzzers> <torch fixture folder or "">)
# Registers fuzz_seeds (builds the seed corpora: committed fuzz/corpus/<target>/ files, data.pkl of the bundled
# sample and of the torch fixtures when present, hand-made pickles, safetensors and legacy files) and one test per
# fuzzer that runs it for CKPTLENS_FUZZ_SECONDS over its seeds. Findings land in <build>/fuzz-artifacts/.
set(CKPTLENS_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzzer runs under ctest")

function(ckptlens_add_fuzz_tests fuzz_bin fixtures)
    find_program(CKPTLENS_FUZZ_PYTHON NAMES python3 REQUIRED)
    set(src ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work)
    add_test(NAME fuzz_seeds
        COMMAND ${CKPTLENS_FUZZ_PYTHON} ${src}/make_seeds.py ${work} --root ${src}/.. --fixtures "${fixtures}"
            --targets ${CKPTLENS_FUZZ_TARGETS})
    # Ordering only: the torch fixtures, when the main suite writes them, make better seeds, but a failure to
    # write them must not hide the fuzzers.
    set_tests_properties(fuzz_seeds PROPERTIES FIXTURES_SETUP ckptlens_fuzz_seeds DEPENDS gen_fixtures TIMEOUT 120)
    foreach(t ${CKPTLENS_FUZZ_TARGETS})
        # First folder: where the run adds what it finds (kept between runs); second: the fresh seeds.
        add_test(NAME ${t}
            COMMAND ${fuzz_bin}/${t} -max_total_time=${CKPTLENS_FUZZ_SECONDS} -rss_limit_mb=2048 -timeout=10
                -print_final_stats=1 -artifact_prefix=${work}/artifacts/${t}- ${work}/found/${t} ${work}/seeds/${t})
        set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED ckptlens_fuzz_seeds LABELS fuzz
            TIMEOUT 300 ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1;ASAN_OPTIONS=detect_leaks=1")
    endforeach()
endfunction()
