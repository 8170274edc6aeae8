// Text and parameter helpers shared by every enforcer action: lines that keep every byte,
// reading `with` values, argument checks with messages that name the action, parameter and
// value, blank handling, and small host look-ups. Private to enforcers/. Generic line and word
// splitting that the collectors already have comes from tables/internal/text.h.
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
#include "tables/internal/text.h"

namespace vigil::enforcers::action_text {

// --- lines ----------------------------------------------------------------------------------

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

// --- actions --------------------------------------------------------------------------------

// An action whose PlanFix is a plain function: the file-edit actions are a spec and a function.
using PlanFunction = Result<Plan> (*)(const Host& host, const packs::Params& args);
std::unique_ptr<Action> MakeFunctionAction(packs::ActionSpec spec, PlanFunction plan);

// --- `with` values --------------------------------------------------------------------------

// The text of a single-valued parameter, or `fallback` when it is absent. Unchecked: the
// caller checks it (CheckOneLine, CheckKey, ...).
std::string Arg(const packs::Params& args, std::string_view name, std::string_view fallback = "");
bool HasArg(const packs::Params& args, std::string_view name);
// Every item of a list parameter as given (none when absent).
std::vector<std::string> ListArg(const packs::Params& args, std::string_view name);

// Checked forms: the single value of `name`, or `fallback` when absent. InvalidArgument when it
// is a list ("ACTION: NAME takes one value, not a list"), holds a line break
// ("ACTION: NAME 'x\ny' holds a line break", the value shown as given) or a NUL byte.
Result<std::string> OneParam(std::string_view action, const packs::Params& args,
                             std::string_view name, std::string_view fallback = "");
// Every item of `name` (a single value counts as a list of one), trimmed, empty items dropped;
// {} when absent. Same line-break and NUL checks as OneParam for each item.
Result<std::vector<std::string>> ListParam(std::string_view action, const packs::Params& args,
                                           std::string_view name);

// --- argument checks ------------------------------------------------------------------------

// "ACTION: PARAM 'VALUE' WHY" as InvalidArgument; line breaks and NULs in VALUE shown as ' '.
Status BadArg(std::string_view action, std::string_view param, std::string_view value,
              std::string_view why);
// Checks that a value is one line (no '\n', '\r' or NUL); `allow_empty` lets "" through.
Status CheckOneLine(std::string_view action, std::string_view param, std::string_view value,
                    bool allow_empty = false);
// Checks a key: one line, not empty, no blank, no '=' and no '#'.
Status CheckKey(std::string_view action, std::string_view param, std::string_view value);
// Checks an absolute, normalised host path ("/etc/x", not "etc/x", "/etc/../x", "/etc/./x",
// "/etc//x" or "/etc/"); "" is "is empty", a line break "must be one line".
Status CheckAbsolutePath(std::string_view action, std::string_view param, std::string_view value);
// The looser check of the command and ruleset actions (as OneParam: "holds a line break"): an
// absolute file path without a ".." component; "." and "//" are let through.
Status CheckHostPath(std::string_view action, std::string_view param, std::string_view path);

// --- host -----------------------------------------------------------------------------------

// The file's content, nullopt when it does not exist; other read errors are returned.
Result<std::optional<std::string>> ReadIfExists(const Host& host, std::string_view path);

// A whole-content edit of `path` (a new file gets `mode_if_new`).
FileEdit ContentEdit(std::string path, std::string content, mode_t mode_if_new = 0644);

// The fields of the first line of /etc/passwd-like text whose first ':' field is `name`.
std::optional<std::vector<std::string>> FindColonRecord(std::string_view text,
                                                        std::string_view name);
std::string JoinColonRecord(const std::vector<std::string>& fields);
// The line of `user` in a colon-separated account file (/etc/passwd, /etc/shadow), split into
// its fields, with the file's lines so that Edit() can write the fields back.
struct AccountRecord {
  std::string path;
  TextLines text;
  size_t line = 0;  // index in text.lines
  std::vector<std::string> fields;

  // The whole file with `fields` put back in place of the line.
  FileEdit Edit();
};
// The first line of `path` for `user`. NotFound "ACTION: user 'USER' is not in PATH" when no line
// has the name; read errors as the host gives them.
Result<AccountRecord> FindAccountRecord(const Host& host, std::string_view action,
                                        std::string_view path, std::string_view user);
// A user name: CheckKey, and no ':' ("ACTION: PARAM 'a:b' is not a user name").
Status CheckUserName(std::string_view action, std::string_view param, std::string_view user);
// Whether the host's /etc/passwd (or /etc/group) has the name.
bool HasUser(const Host& host, std::string_view user);
bool HasGroup(const Host& host, std::string_view group);

// --- blanks and words -----------------------------------------------------------------------

// Space, tab and '\r' ('\n' separates lines).
bool IsBlank(char c);
// Without leading and trailing blanks and '\n' (tables::internal::Trim also strips '\v' and
// '\f', which are part of a value here).
std::string_view Trim(std::string_view text);
// Lower case; Vigil never sets a locale, so this is ASCII.
using tables::internal::Lower;

// Words separated by runs of blanks and '\n', and those words joined by one space:
// "a  b\t c\r" -> "a b c". For values and file lines whose '\r' is layout.
std::vector<std::string_view> SplitBlanks(std::string_view text);
std::string NormalizeBlanks(std::string_view text);
// Words separated by spaces and tabs only (tables::internal::SplitWhitespace, as strings), and
// those words joined by one space: a '\r' stays part of a word, so a rule line of a CRLF file is
// compared byte for byte, as the ruleset actions always did.
std::vector<std::string> Words(std::string_view text);
std::string CollapseSpaces(std::string_view text);

}  // namespace vigil::enforcers::action_text
