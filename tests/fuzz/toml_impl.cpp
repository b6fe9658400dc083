// toml++'s parser compiled into the fuzz target, with the fuzzer's coverage
// and ASan/UBSan instrumentation. Debian ships toml++ as a compiled library
// (TOML_HEADER_ONLY=0), which the fuzzer could neither see into nor check;
// defining TOML_IMPLEMENTATION here puts the same version's implementation
// into the executable, where it takes precedence over the shared library's.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
