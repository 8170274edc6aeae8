// ustar archives of regular files (POSIX.1-1988 "ustar" with the POSIX.1-2001 magic), the form a
// fleet directory crosses the network in (`vigilctl config publish` -> POST /api/v1/config).
//
// Only what a fleet directory holds is written or accepted: regular files named by relative
// paths. Directory entries are accepted when read (and skipped); everything else (links,
// devices, FIFOs, pax or GNU extension headers) is refused. Reading is strict and bounded: every
// header's checksum, octal fields, magic, member name and size are checked, and an error names
// the member (its index and name) and what is wrong with it.
//
// Thread safety: plain functions over values; call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace vigil::tar {

struct Limits {
  size_t max_members = 1000;           // files (directory entries count too)
  size_t max_member_bytes = 4u << 20;  // one file's content
  size_t max_total_bytes = 32u << 20;  // all files' content together
};

// Whether `path` may name a member: relative, non-empty components, no "." or "..", no NUL,
// at most 255 bytes (what the ustar name and prefix fields hold). InvalidArgument naming it
// otherwise.
Status CheckMemberPath(std::string_view path);

// The archive of `files` (path -> content), members in path order, mode 0644, mtime 0, owner
// 0/0, ended by two zero blocks. InvalidArgument for a path CheckMemberPath refuses or one that
// cannot be split into the ustar prefix and name fields.
Result<std::string> Write(const std::map<std::string, std::string>& files);

// The regular files of `archive` (path -> content). A trailing "/" on a directory entry and a
// leading "./" are dropped. InvalidArgument naming the member for: a bad checksum, a field that
// is not octal, an unknown magic, a type other than a regular file or directory, a name
// CheckMemberPath refuses, a path given twice, content past the end of the archive, a member or
// a total over `limits`; and for an archive whose length is not a multiple of 512 or that has
// no end-of-archive block.
Result<std::map<std::string, std::string>> Read(std::string_view archive,
                                                const Limits& limits = {});

}  // namespace vigil::tar
