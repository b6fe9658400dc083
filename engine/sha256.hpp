// SHA-256 (FIPS 180-4), to stamp results files with the exact experiment text
// they came from.
#pragma once

#include <string>
#include <string_view>

namespace loyalsim::engine {

// Lower-case hex digest of the bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace loyalsim::engine
