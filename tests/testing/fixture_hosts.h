// Fixture host trees as a test needs them on disk. Git keeps only the executable bit and no
// file times, so a tree whose checks judge permissions or ages (iec-weak, iec-hardened) is
// copied and given them: the hardened host's files their strict modes and fresh dates, the weak
// host's its loose modes and year-old signatures and backup marker.
#pragma once

#include <string>
#include <string_view>

namespace vigil::testing {

// Copies tests/fixtures/hosts/NAME to PARENT/NAME (replacing what is there), sets the modes and
// times the tree's README describes, and returns the copy's path. Fails the test on error.
std::string StageFixtureHost(std::string_view name, const std::string& parent);

}  // namespace vigil::testing
