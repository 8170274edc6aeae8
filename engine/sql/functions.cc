#include "engine/sql/functions.h"

#include <arpa/inet.h>
#include <sqlite3.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "engine/digest.h"
#include "engine/sql/version_compare.h"

namespace vigil {
namespace {

// Regular expressions are PCRE2's, which backtracks on the heap rather than the stack, under
// these bounds: a pattern's length, the work one match may do, and the memory it may use. A
// statement that hits one gets an SQL error, never a crashed process.
constexpr size_t kMaxRegexPatternBytes = 4096;
constexpr uint32_t kRegexMatchLimit = 10'000'000;  // backtracking steps per match
constexpr uint32_t kRegexHeapLimitKib = 64 * 1024;  // backtracking memory per match

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

// SQLite is C: no exception may cross back into it; std::string throws when memory runs out.
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

// A compiled pattern with its match data and limits, cached per statement.
struct Regex {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  pcre2_match_context* limits = nullptr;
  ~Regex() {
    pcre2_match_context_free(limits);
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

void DeleteRegex(void* regex) { delete static_cast<Regex*>(regex); }

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
  Regex* Get(sqlite3_value* pattern_value) {
    if (void* cached = sqlite3_get_auxdata(ctx_, arg_); cached != nullptr) {
      return static_cast<Regex*>(cached);
    }
    const std::string_view pattern = Text(pattern_value);
    if (pattern.size() > kMaxRegexPatternBytes) {
      ResultError(ctx_, "pattern of " + std::to_string(pattern.size()) +
                            " bytes is longer than the limit of " +
                            std::to_string(kMaxRegexPatternBytes));
      return nullptr;
    }
    auto regex = std::make_unique<Regex>();
    int error = 0;
    PCRE2_SIZE offset = 0;
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0,
                                &error, &offset, nullptr);
    if (regex->code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      ResultError(ctx_, "invalid regular expression '" + std::string(pattern) + "': " +
                            reinterpret_cast<const char*>(message) + " at offset " +
                            std::to_string(offset));
      return nullptr;
    }
    regex->match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
    regex->limits = pcre2_match_context_create(nullptr);
    if (regex->match == nullptr || regex->limits == nullptr) throw std::bad_alloc();
    pcre2_set_match_limit(regex->limits, kRegexMatchLimit);
    pcre2_set_heap_limit(regex->limits, kRegexHeapLimitKib);
    compiled_ = std::move(regex);
    return compiled_.get();
  }

 private:
  sqlite3_context* const ctx_;
  const int arg_;
  std::unique_ptr<Regex> compiled_;
};

// Finds the first match of `regex` in subject at or after `start`. Returns false when there is
// none, or after setting the error when the match hit a limit.
bool Search(sqlite3_context* ctx, Regex& regex, std::string_view subject, size_t start,
            bool& failed) {
  int rc = pcre2_match(regex.code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       start, 0, regex.match, regex.limits);
  if (rc >= 0) return true;
  if (rc != PCRE2_ERROR_NOMATCH) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof(message));
    ResultError(ctx, std::string("cannot match: ") + reinterpret_cast<const char*>(message));
    failed = true;
  }
  return false;
}

// regex_match(text, pattern, index): group `index` (0 = the whole match) of the first match,
// or NULL when nothing matches or that group took no part in the match.
void RegexMatch(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  CachedRegex cached(ctx, 1);
  Regex* regex = cached.Get(argv[1]);
  if (regex == nullptr) return;
  const std::string_view subject = Text(argv[0]);
  const sqlite3_int64 group = sqlite3_value_int64(argv[2]);
  if (group < 0) return;

  bool failed = false;
  if (!Search(ctx, *regex, subject, 0, failed)) return;
  if (static_cast<uint64_t>(group) >= pcre2_get_ovector_count(regex->match)) return;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(regex->match);
  PCRE2_SIZE begin = ovector[2 * group], end = ovector[2 * group + 1];
  if (begin == PCRE2_UNSET || end < begin) return;
  ResultText(ctx, subject.substr(begin, end - begin));
}

// regex_split(text, pattern, index): piece `index` of text cut at each match of pattern. Empty
// pieces count (a pattern can ask for runs with `+`); a match of no characters does not cut.
void RegexSplit(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (AnyNull(argc, argv)) return;
  CachedRegex cached(ctx, 1);
  Regex* regex = cached.Get(argv[1]);
  if (regex == nullptr) return;
  const std::string_view subject = Text(argv[0]);
  sqlite3_int64 index = sqlite3_value_int64(argv[2]);
  if (index < 0) return;

  size_t piece = 0;  // where the current piece starts
  size_t from = 0;   // where to look for the next match
  bool failed = false;
  while (from <= subject.size() && Search(ctx, *regex, subject, from, failed)) {
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(regex->match);
    size_t begin = ovector[0], end = ovector[1];
    if (end == begin) {  // an empty match does not cut; look again one character on
      from = begin + 1;
      continue;
    }
    if (index-- == 0) {
      ResultText(ctx, subject.substr(piece, begin - piece));
      return;
    }
    piece = from = end;
  }
  if (!failed && index == 0) ResultText(ctx, subject.substr(piece));
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
