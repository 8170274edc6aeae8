// `vigil audit show` and `vigil audit verify`: read the node's audit chain from its state
// directory. Both open the store without creating anything.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "engine/audit/chain.h"
#include "engine/store/store.h"

namespace vigil::cli {
namespace {

constexpr const char* kAuditUsage =
    "Usage: vigil audit show|verify [OPTIONS]\n"
    "\n"
    "The node's audit chain: every change an enforcer or an operator made, each record holding\n"
    "the hash of the one before it.\n"
    "\n"
    "  show     Print the records, one per line\n"
    "  verify   Check every record and its link; exit 1 naming the first broken record\n"
    "\n"
    "See vigil audit show --help and vigil audit verify --help for the options.\n";

void AddStateDirFlag(FlagSet& flags) {
  flags.Value("state-dir", "DIR", "The node's state directory", kDefaultStateDir);
}

// Parses the flags; returns an exit code when the command is done (help or a usage error).
std::optional<int> ParseFlags(FlagSet& flags, const std::vector<std::string>& args,
                              const std::string& command) {
  if (Status s = flags.Parse(args); !s.ok()) {
    std::cerr << command << ": " << s.message() << "\n(see " << command << " --help)\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!flags.positionals().empty()) {
    std::cerr << command << ": unexpected argument '" << flags.positionals()[0] << "'\n(see "
              << command << " --help)\n";
    return 2;
  }
  return std::nullopt;
}

// Control characters would break the one-record-per-line output.
std::string Printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

// "SEQ:HASH", as `vigil audit verify` prints a head.
Result<audit::ChainHead> ParseHead(std::string_view text) {
  const size_t colon = text.find(':');
  auto bad = [&] {
    return Status::InvalidArgument(
        "--expect-head must be SEQ:HASH (a record number and its 64 "
        "hex digit hash), not '" +
        std::string(text) + "'");
  };
  if (colon == std::string_view::npos) return bad();
  auto seq = ParseCount(text.substr(0, colon), "--expect-head SEQ");
  std::string_view hash = text.substr(colon + 1);
  if (!seq.ok() || hash.size() != 64 ||
      hash.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return bad();
  }
  return audit::ChainHead{static_cast<uint64_t>(*seq), std::string(hash)};
}

int RunShow(const std::vector<std::string>& args) {
  const std::string command = "vigil audit show";
  FlagSet flags("vigil audit show [OPTIONS]",
                "Prints the audit records, oldest first, one per line: seq, time, actor, action,\n"
                "subject and detail (JSON), separated by tabs. Does not verify the chain (see\n"
                "vigil audit verify). Exit status: 0 on success, 1 when the store cannot be "
                "read, 2 on bad usage.");
  AddStateDirFlag(flags);
  flags.Value("after", "SEQ", "Print only the records after record SEQ", "0");
  flags.Bool("json", "Print each record as stored, one JSON object per line, with its hashes");
  if (auto done = ParseFlags(flags, args, command)) return *done;
  auto after = ParseCount(*flags.Get("after"), "--after");
  if (!after.ok()) {
    std::cerr << command << ": " << after.status().message() << "\n";
    return 2;
  }

  auto store = store::Store::Open(*flags.Get("state-dir"), {.create = false});
  if (!store.ok()) {
    std::cerr << command << ": " << store.status().message() << "\n";
    return 1;
  }
  audit::AuditChain chain(**store);
  const bool json = flags.IsSet("json");
  Status printed = chain.Read(static_cast<uint64_t>(*after), [&](const audit::Record& r) {
    if (json) {
      std::cout << SerializeRecord(r).value_or("{}") << "\n";
    } else {
      std::cout << r.seq << "\t" << r.time << "\t" << Printable(r.actor) << "\t"
                << Printable(r.action) << "\t" << Printable(r.subject) << "\t" << r.detail << "\n";
    }
    return true;
  });
  std::cout.flush();
  if (!printed.ok()) {
    std::cerr << command << ": " << printed.message() << " (run vigil audit verify)\n";
    return 1;
  }
  return 0;
}

int RunVerify(const std::vector<std::string>& args) {
  const std::string command = "vigil audit verify";
  FlagSet flags("vigil audit verify [OPTIONS]",
                "Checks every audit record: its hash against its content, its link to the record\n"
                "before it, and that no sequence number is missing. Prints\n"
                "'audit chain intact: N records, head SEQ HASH' and exits 0, or names the first\n"
                "broken record and exits 1. Exit status 2 on bad usage.");
  AddStateDirFlag(flags);
  flags.Value("expect-head", "SEQ:HASH",
              "Also require this head (kept from an earlier verify): catches a cut-off tail");
  if (auto done = ParseFlags(flags, args, command)) return *done;
  std::optional<audit::ChainHead> expected;
  if (auto text = flags.Get("expect-head")) {
    auto head = ParseHead(*text);
    if (!head.ok()) {
      std::cerr << command << ": " << head.status().message() << "\n";
      return 2;
    }
    expected = *head;
  }

  auto store = store::Store::Open(*flags.Get("state-dir"), {.create = false});
  if (!store.ok()) {
    std::cerr << command << ": " << store.status().message() << "\n";
    return 1;
  }
  audit::AuditChain chain(**store);
  auto verification = chain.Verify(expected);
  if (!verification.ok()) {
    std::cerr << command << ": " << verification.status().message() << "\n";
    return 1;
  }
  if (!verification->intact()) {
    std::cout << "audit chain broken at record " << *verification->broken_at << ": "
              << verification->problem << "\n";
    return 1;
  }
  std::cout << "audit chain intact: " << verification->records << " records, head "
            << verification->head.seq << " " << verification->head.hash << "\n";
  return 0;
}

}  // namespace

int RunAudit(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kAuditUsage;
    return 2;
  }
  const std::string& sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kAuditUsage;
    return 0;
  }
  if (sub == "show") return RunShow(rest);
  if (sub == "verify") return RunVerify(rest);
  std::cerr << "vigil audit: unknown subcommand '" << sub << "'\n\n" << kAuditUsage;
  return 2;
}

}  // namespace vigil::cli
