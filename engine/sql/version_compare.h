// Debian version ordering (deb-version(7)): [epoch:]upstream[-revision], where `~` sorts before
// everything, even the end of the string, letters sort before non-letters, and digit runs
// compare as numbers.
#pragma once

#include <string_view>

namespace vigil {

// <0, 0 or >0 as a is older than, equal to, or newer than b.
int CompareDebianVersions(std::string_view a, std::string_view b);

}  // namespace vigil
