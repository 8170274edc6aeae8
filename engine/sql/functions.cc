#include "engine/sql/functions.h"

#include <arpa/inet.h>
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string>

#include "engine/digest.h"
#include "engine/sql/version_compare.h"

namespace vigil {
namespace {

// libstdc++ matches a std::regex by recursion, at least one stack frame per character a match
// attempt consumes: about 300 bytes a character for `.*`, over 1 KiB inside nested repeated
// groups. On an 8 MiB thread stack a subject of some 25 KiB overflows it and kills the process,
// so the regex functions refuse subjects and patterns past these sizes with an SQL error.
constexpr size_t kMaxRegexSubjectBytes = 4096;
constexpr size_t kMaxRegexPatternBytes = 1024;

using ScalarFunction = void (*)(sqlite3_context*, int, sqlite3_value**);

// Every function is registered with its own name as user data, so an error names the function
// the statement called (in_cidr_block or its alias cidr_contains).
const char* FunctionName(sqlite3_context* ctx) {
  return static_cast<const char*>(sqlite3_user_data(ctx));
}

// Sets the result to the error "NAME: message". Allocates only through SQLite, so it cannot
// throw and is safe inside a catch block.
void ResultError(sqlite3_context* ctx, std::string_view message) noexcept {
  char* text = sqlite3_mprintf("%s: %.*s", FunctionName(ctx), static_cast<int>(message.size()),
                               message.data());
  if (text == nullptr) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, text, -1);
  sqlite3_free(text);
}

void ResultText(sqlite3_context* ctx, std::string_view text) {
  sqlite3_result_text64(ctx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

bool IsNull(sqlite3_value* value) { return sqlite3_value_type(value) == SQLITE_NULL; }

bool AnyNull(int argc, sqlite3_value** argv) {
  for (int i = 0; i < argc; ++i) {
    if (IsNull(argv[i])) return true;
  }
  return false;
}

// A non-NULL argument as UTF-8 text. The view stays valid for the rest of the call.
std::string_view Text(sqlite3_value* value) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
  if (text == nullptr) throw std::bad_alloc();  // SQLite could not convert: out of memory
  return {text, static_cast<size_t>(sqlite3_value_bytes(value))};
}

// SQLite is C: no exception may cross back into it. std::regex throws on patterns it cannot
// compile and on matches it gives up on; std::string throws when memory runs out.
template <ScalarFunction kFunction>
void Guarded(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  try {
    kFunction(ctx, argc, argv);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  } catch (const std::exception& e) {
    ResultError(ctx, e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Regular expressions

void DeleteRegex(void* regex) { delete static_cast<std::regex*>(regex); }

// The compiled pattern of argument `arg`. SQLite keeps it for the rest of the statement while
// that argument is the same constant. SQLite may destroy what it is given at any time after
// sqlite3_set_auxdata, even before that call returns, so a newly compiled regex is handed over
// only when this object goes out of scope, after its last use.
class CachedRegex {
 public:
  CachedRegex(sqlite3_context* ctx, int arg) : ctx_(ctx), arg_(arg) {}
  ~CachedRegex() {
    if (compiled_ != nullptr) sqlite3_set_auxdata(ctx_, arg_, compiled_.release(), &DeleteRegex);
  }
  CachedRegex(const CachedRegex&) = delete;
  CachedRegex& operator=(const CachedRegex&) = delete;

  // The regex, or nullptr after setting the error when the pattern is too long or invalid.
  const std::regex* Get(sqlite3_value* pattern_value) {
    if (void* cached = sqlite3_get_auxdata(ctx_, arg_); cached != nullptr) {
      return static_cast<const std::regex*>(cached);
    }
    const std::string_view pattern = Text(pattern_value);
    if (pattern.size() > kMaxRegexPatternBytes) {
      ResultError(ctx_, "pattern of " + std::to_string(pattern.size()) +
                            " bytes is longer than the limit of " +
                            std::to_string(kMaxRegexPatternBytes));
      return nullptr;
    }
    try {
      compiled_ =
          std::make_unique<std::regex>(pattern.data(), pattern.size(), std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      ResultError(ctx_, "invalid regular expression '" + std::string(pattern) + "': " + e.what());
      return nullptr;
    }
    return compiled_.get();
  }

 private:
  sqlite3_context* const ctx_;
  const int arg_;
  std::unique_ptr<std::regex> compiled_;
};

// The subject of a regex function, or nullopt after setting the error when it is too long.
std::optional<std::string_view> RegexSubject(sqlite3_context* ctx, sqlite3_value* value) {
  std::string_view subject = Text(value);
  if (subject.size() > kMaxRegexSubjectBytes) {
    ResultError(ctx, "text of " + std::to_string(subject.size()) +
                         " bytes is longer than the limit of " +
                         std::to_string(kMaxRegexSubjectBytes) +
                         " for regular expressions; match a substr() of it");
    return std::nullopt;
  }
  return subject;
}

// regex_match(text, pattern, index): group `index` (0 = the whole match) of the first match,
// or NULL when nothing matches or that group took no part in the match.
void RegexMatch(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  CachedRegex regex(ctx, 1);
  const std::regex* re = regex.Get(argv[1]);
  if (re == nullptr) return;
  const std::optional<std::string_view> subject = RegexSubject(ctx, argv[0]);
  if (!subject) return;
  const sqlite3_int64 group = sqlite3_value_int64(argv[2]);
  if (group < 0) return;

  std::cmatch match;
  if (!std::regex_search(subject->data(), subject->data() + subject->size(), match, *re)) return;
  if (static_cast<uint64_t>(group) >= match.size() || !match[group].matched) return;
  ResultText(ctx, std::string_view(match[group].first, match[group].length()));
}

// regex_split(text, pattern, index): piece `index` of text cut at each match of pattern. Empty
// pieces count (a pattern can ask for runs with `+`); a match of no characters does not cut.
void RegexSplit(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  CachedRegex regex(ctx, 1);
  const std::regex* re = regex.Get(argv[1]);
  if (re == nullptr) return;
  const std::optional<std::string_view> subject = RegexSubject(ctx, argv[0]);
  if (!subject) return;
  sqlite3_int64 index = sqlite3_value_int64(argv[2]);
  if (index < 0) return;

  const char* piece = subject->data();
  const char* const subject_end = subject->data() + subject->size();
  for (std::cregex_iterator it(piece, subject_end, *re), end; it != end; ++it) {
    if (it->length(0) == 0) continue;
    if (index-- == 0) {
      ResultText(ctx, std::string_view(piece, (*it)[0].first - piece));
      return;
    }
    piece = (*it)[0].second;
  }
  if (index == 0) ResultText(ctx, std::string_view(piece, subject_end - piece));
}

// ---------------------------------------------------------------------------------------------
// Strings

// split(text, tokens, index): piece `index` of text cut at every byte found in tokens, empty
// pieces skipped.
void Split(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  const std::string_view text = Text(argv[0]);
  const std::string_view tokens = Text(argv[1]);
  sqlite3_int64 index = sqlite3_value_int64(argv[2]);
  if (index < 0) return;

  size_t start = text.find_first_not_of(tokens);
  while (start != std::string_view::npos) {
    const size_t stop = text.find_first_of(tokens, start);
    if (index-- == 0) {
      ResultText(ctx, text.substr(start, stop - start));
      return;
    }
    if (stop == std::string_view::npos) return;
    start = text.find_first_not_of(tokens, stop);
  }
}

// concat(value, ...): every non-NULL argument as text, joined.
void Concat(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc < 1) {
    ResultError(ctx, "expects at least one argument");
    return;
  }
  std::string joined;
  for (int i = 0; i < argc; ++i) {
    if (!IsNull(argv[i])) joined += Text(argv[i]);
  }
  ResultText(ctx, joined);
}

// concat_ws(separator, value, ...): the non-NULL values joined by separator; NULL when the
// separator is NULL.
void ConcatWs(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc < 2) {
    ResultError(ctx, "expects a separator and at least one value");
    return;
  }
  if (IsNull(argv[0])) return;
  const std::string_view separator = Text(argv[0]);
  std::string joined;
  bool first = true;
  for (int i = 1; i < argc; ++i) {
    if (IsNull(argv[i])) continue;
    if (!first) joined += separator;
    joined += Text(argv[i]);
    first = false;
  }
  ResultText(ctx, joined);
}

// sha256(value): lowercase hex SHA-256 of a blob's bytes or of the value as text.
void Sha256(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (IsNull(argv[0])) return;
  std::string_view data;
  if (sqlite3_value_type(argv[0]) == SQLITE_BLOB) {
    const void* blob = sqlite3_value_blob(argv[0]);
    const int size = sqlite3_value_bytes(argv[0]);
    if (blob != nullptr) data = {static_cast<const char*>(blob), static_cast<size_t>(size)};
  } else {
    data = Text(argv[0]);
  }
  ResultText(ctx, Sha256Hex(data));
}

// ---------------------------------------------------------------------------------------------
// Network addresses

struct IpAddress {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  size_t size = 4;  // bytes used: 4 or 16
};

// A dotted-quad IPv4 or a textual IPv6 address (any text with a colon is taken for IPv6).
std::optional<IpAddress> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string terminated(text);
  IpAddress address;
  if (text.find(':') != std::string_view::npos) {
    address.family = AF_INET6;
    address.size = 16;
  }
  if (inet_pton(address.family, terminated.c_str(), address.bytes.data()) != 1) {
    return std::nullopt;
  }
  return address;
}

struct CidrBlock {
  IpAddress network;
  size_t prefix_bits = 0;
};

Result<CidrBlock> ParseCidr(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument("invalid CIDR block " + quoted + ": expected ADDRESS/PREFIX");
  }
  CidrBlock block;
  std::optional<IpAddress> network = ParseAddress(text.substr(0, slash));
  if (!network) return Status::InvalidArgument("invalid CIDR block " + quoted + ": bad address");
  block.network = *network;

  const std::string_view prefix = text.substr(slash + 1);
  const size_t max_bits = block.network.size * 8;
  bool valid = !prefix.empty() && prefix.size() <= 3;
  for (char c : prefix) {
    valid = valid && c >= '0' && c <= '9';
    if (valid) block.prefix_bits = block.prefix_bits * 10 + static_cast<size_t>(c - '0');
  }
  if (!valid || block.prefix_bits > max_bits) {
    return Status::InvalidArgument("invalid CIDR block " + quoted +
                                   ": prefix length must be 0 to " + std::to_string(max_bits));
  }
  return block;
}

// Whether the first `prefix_bits` bits of both addresses agree. Different families never do.
bool Contains(const CidrBlock& block, const IpAddress& address) {
  if (block.network.family != address.family) return false;
  const size_t whole_bytes = block.prefix_bits / 8;
  const size_t rest_bits = block.prefix_bits % 8;
  if (std::memcmp(block.network.bytes.data(), address.bytes.data(), whole_bytes) != 0) {
    return false;
  }
  if (rest_bits == 0) return true;
  const auto mask = static_cast<unsigned char>(0xFF << (8 - rest_bits));
  return (block.network.bytes[whole_bytes] & mask) == (address.bytes[whole_bytes] & mask);
}

// in_cidr_block(cidr, address) and cidr_contains(cidr, address): 1 when address lies in the
// block. An IPv6 scope ("fe80::1%eth0", as interface tables print it) is ignored.
void InCidrBlock(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  const Result<CidrBlock> block = ParseCidr(Text(argv[0]));
  if (!block.ok()) {
    ResultError(ctx, block.status().message());
    return;
  }
  const std::string_view text = Text(argv[1]);
  std::string_view unscoped = text;
  if (unscoped.find(':') != std::string_view::npos) unscoped = unscoped.substr(0, text.find('%'));
  const std::optional<IpAddress> address = ParseAddress(unscoped);
  if (!address) {
    ResultError(ctx, "invalid IP address '" + std::string(text) + "'");
    return;
  }
  sqlite3_result_int(ctx, Contains(*block, *address) ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Debian versions

// version_compare(a, b): -1, 0 or 1 as a is older than, equal to or newer than b.
void VersionCompare(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  const int order = CompareDebianVersions(Text(argv[0]), Text(argv[1]));
  sqlite3_result_int(ctx, (order > 0) - (order < 0));
}

int CompareVersionCollation(void*, int a_size, const void* a, int b_size, const void* b) {
  return CompareDebianVersions(
      std::string_view(static_cast<const char*>(a), static_cast<size_t>(a_size)),
      std::string_view(static_cast<const char*>(b), static_cast<size_t>(b_size)));
}

struct FunctionSpec {
  const char* name;
  int arg_count;  // -1: any number, checked by the function
  ScalarFunction function;
};

constexpr FunctionSpec kFunctions[] = {
    {"regex_match", 3, &Guarded<RegexMatch>},
    {"regex_split", 3, &Guarded<RegexSplit>},
    {"split", 3, &Guarded<Split>},
    {"concat", -1, &Guarded<Concat>},
    {"concat_ws", -1, &Guarded<ConcatWs>},
    {"sha256", 1, &Guarded<Sha256>},
    {"in_cidr_block", 2, &Guarded<InCidrBlock>},
    {"cidr_contains", 2, &Guarded<InCidrBlock>},
    {"version_compare", 2, &Guarded<VersionCompare>},
};

constexpr const char kVersionCollation[] = "VERSION_DPKG";

}  // namespace

Status RegisterFunctions(sqlite3* db) {
  // All are pure functions of their arguments, safe to use anywhere in a statement.
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  for (const FunctionSpec& spec : kFunctions) {
    // SQLite hands user data back as void*; FunctionName() only reads it.
    void* name = const_cast<char*>(spec.name);
    if (sqlite3_create_function_v2(db, spec.name, spec.arg_count, kFlags, name, spec.function,
                                   nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Status::Internal("registering SQL function " + std::string(spec.name) + ": " +
                              sqlite3_errmsg(db));
    }
  }
  if (sqlite3_create_collation_v2(db, kVersionCollation, SQLITE_UTF8, nullptr,
                                  &CompareVersionCollation, nullptr) != SQLITE_OK) {
    return Status::Internal("registering collation " + std::string(kVersionCollation) + ": " +
                            sqlite3_errmsg(db));
  }
  return Status::Ok();
}

const std::vector<std::string_view>& VigilFunctionNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> list;
    for (const FunctionSpec& spec : kFunctions) list.emplace_back(spec.name);
    return list;
  }();
  return names;
}

}  // namespace vigil
