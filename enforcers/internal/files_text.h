// Text helpers shared by the file-edit actions (file_actions.h): lines that keep every byte,
// argument checks with messages that name the action, parameter and value, and small host
// look-ups. Private to enforcers/ (namespace files_text, apart from the other groups' helpers).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "enforcers/action.h"
#include "engine/host.h"
#include "engine/packs/action_spec.h"
#include "engine/packs/pack.h"
#include "engine/status.h"

namespace vigil::enforcers::files_text {

// A file as lines, split at '\n' only, so "\r" and every other byte stay in the line text;
// Join() gives the original bytes back when nothing was changed.
struct TextLines {
  std::vector<std::string> lines;
  bool trailing_newline = true;  // whether the text ends with '\n' (true for an empty text)

  static TextLines Split(std::string_view text);
  std::string Join() const;
  // Inserts `line` before index `at` (at == size() appends).
  void Insert(size_t at, std::string line);
};

// An action whose PlanFix is a plain function: the file-edit actions are a spec and a function.
using PlanFunction = Result<Plan> (*)(const Host& host, const packs::Params& args);
std::unique_ptr<Action> MakeFunctionAction(packs::ActionSpec spec, PlanFunction plan);

// The text of a single-valued parameter, or `fallback` when it is absent.
std::string Arg(const packs::Params& args, std::string_view name, std::string_view fallback = "");
bool HasArg(const packs::Params& args, std::string_view name);
// Every item of a list parameter (none when absent).
std::vector<std::string> ListArg(const packs::Params& args, std::string_view name);

// "ACTION: PARAM 'VALUE' WHY" as InvalidArgument.
Status BadArg(std::string_view action, std::string_view param, std::string_view value,
              std::string_view why);
// Checks that a value is one line (no '\n', '\r' or NUL); `allow_empty` lets "" through.
Status CheckOneLine(std::string_view action, std::string_view param, std::string_view value,
                    bool allow_empty = false);
// Checks a key: one line, not empty, no blank, no '=' and no '#'.
Status CheckKey(std::string_view action, std::string_view param, std::string_view value);
// Checks an absolute, normalised host path ("/etc/x", not "etc/x", "/etc/../x" or "/etc/").
Status CheckAbsolutePath(std::string_view action, std::string_view param, std::string_view value);

// The file's content, nullopt when it does not exist; other read errors are returned.
Result<std::optional<std::string>> ReadIfExists(const Host& host, std::string_view path);

// A whole-content edit of `path` (a new file gets `mode_if_new`).
FileEdit ContentEdit(std::string path, std::string content, mode_t mode_if_new = 0644);

std::string_view Trim(std::string_view text);
std::string Lower(std::string_view text);
// Words separated by runs of blanks (space, tab, '\r', '\n').
std::vector<std::string_view> SplitBlanks(std::string_view text);
// The words joined by one space: "a  b\t c" -> "a b c".
std::string NormalizeBlanks(std::string_view text);
bool IsBlank(char c);

// The fields of the first line of /etc/passwd-like text whose first ':' field is `name`.
std::optional<std::vector<std::string>> FindColonRecord(std::string_view text,
                                                        std::string_view name);
std::string JoinColonRecord(const std::vector<std::string>& fields);
// Whether the host's /etc/passwd (or /etc/group) has the name.
bool HasUser(const Host& host, std::string_view user);
bool HasGroup(const Host& host, std::string_view group);

}  // namespace vigil::enforcers::files_text
