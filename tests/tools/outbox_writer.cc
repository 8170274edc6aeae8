// A test-only program for tests/integration/store_crash_test.cc: writes to a node store the way
// the agent does (outbox items, acks, audit records) until it is killed, and says on stdout
// what it is about to do and what each call returned, so the test can kill it at any moment
// and then check that nothing a returned call stored is missing.
//
//   outbox_writer STATE_DIR [--seed N] [--max-ops N]
//
// Every line goes out with one write(2) on stdout (no stdio buffering), so a line the test
// reads was printed before the next call began:
//
//   open NEXT_SEQ                  the store and the outbox are open; the next item gets NEXT_SEQ
//   append SEQ KIND BYTES SHA256   about to append an item; it will get SEQ (KIND: l, v or a;
//                                  BYTES and SHA256 of its JSON)
//   outbox SEQ                     the append of SEQ returned success
//   ack SEQ                        about to acknowledge every item with seq <= SEQ
//   acked SEQ                      the ack returned success
//   audit SEQ HASH                 an audit record was appended (its seq and hash)
//
// An item's JSON is a function of its seq alone (PayloadFor), so a run can be reproduced.
// The operations (kind, append/ack/audit) come from --seed. The outbox bound is set far above
// what a run writes, so no item is ever dropped to make room. Exit status: 0 after --max-ops
// operations, 1 with a message on stderr when a call fails (the state dir is unusable, say).
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include "agent/outbox.h"
#include "engine/audit/chain.h"
#include "engine/digest.h"
#include "engine/store/store.h"

namespace vigil {
namespace {

constexpr size_t kMaxPayload = 64u << 10;

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The JSON of item `seq`: up to ~64 KiB, its size and letters drawn from a generator seeded
// with the seq. Every fourth item is small, as most verdicts are.
std::string PayloadFor(uint64_t seq) {
  uint64_t state = seq;
  const uint64_t r = SplitMix(state);
  const size_t pad = (r % 4 == 0) ? (r >> 8) % 200 : (r >> 8) % kMaxPayload;
  std::string json = "{\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
  json.reserve(json.size() + pad + 2);
  uint64_t bits = 0;
  for (size_t i = 0; i < pad; ++i) {
    if (i % 10 == 0) bits = SplitMix(state);
    json += static_cast<char>('a' + bits % 26);
    bits /= 26;
  }
  json += "\"}";
  return json;
}

// Writes the whole line with write(2), retrying on EINTR and short writes. False when stdout
// is gone (the test stopped reading); the writer then stops.
bool Say(const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int Fail(const Status& status) {
  std::string message = "outbox_writer: " + status.ToString() + "\n";
  std::fputs(message.c_str(), stderr);
  return 1;
}

Result<uint64_t> ParseNumber(std::string_view flag, std::string_view text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(flag) + " needs a number, got '" +
                                   std::string(text) + "'");
  }
  return n;
}

struct Args {
  std::string dir;
  uint64_t seed = 1;
  uint64_t max_ops = std::numeric_limits<uint64_t>::max();
};

Result<Args> ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "--seed" || arg == "--max-ops") && i + 1 < argc) {
      VIGIL_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(arg, argv[++i]));
      (arg == "--seed" ? args.seed : args.max_ops) = n;
    } else if (!arg.starts_with("--") && args.dir.empty()) {
      args.dir = arg;
    } else {
      return Status::InvalidArgument("unexpected argument '" + std::string(arg) +
                                     "'; usage: outbox_writer STATE_DIR [--seed N] [--max-ops N]");
    }
  }
  if (args.dir.empty()) {
    return Status::InvalidArgument("usage: outbox_writer STATE_DIR [--seed N] [--max-ops N]");
  }
  return args;
}

int Run(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  if (!args.ok()) return Fail(args.status());
  auto store = store::Store::Open(args->dir);
  if (!store.ok()) return Fail(store.status());
  auto box = agent::Outbox::Open(**store, {.max_bytes = std::numeric_limits<uint64_t>::max()});
  if (!box.ok()) return Fail(box.status());
  audit::AuditChain chain(**store);
  if (!Say("open " + std::to_string((*box)->stats().next_seq) + "\n")) return 0;

  std::mt19937_64 random(args->seed);
  constexpr agent::ItemKind kKinds[] = {agent::ItemKind::kLog, agent::ItemKind::kVerdict,
                                        agent::ItemKind::kAuditHead};
  for (uint64_t op = 0; op < args->max_ops; ++op) {
    const uint64_t roll = random() % 20;
    if (roll < 3) {
      // Like the hub client: send a batch from the front, and drop it when the hub acks.
      auto batch = (*box)->Peek(0, 1 + random() % 16, 512u << 10);
      if (!batch.ok()) return Fail(batch.status());
      if (batch->empty()) continue;
      const std::string seq = std::to_string(batch->back().seq);
      if (!Say("ack " + seq + "\n")) return 0;
      if (Status s = (*box)->Ack(batch->back().seq); !s.ok()) return Fail(s);
      if (!Say("acked " + seq + "\n")) return 0;
    } else if (roll < 7) {
      auto record = chain.Append("outbox_writer", "test.write", args->dir,
                                 "{\"op\":" + std::to_string(op) + "}");
      if (!record.ok()) return Fail(record.status());
      if (!Say("audit " + std::to_string(record->seq) + " " + record->hash + "\n")) return 0;
    } else {
      const agent::ItemKind kind = kKinds[random() % 3];
      const uint64_t seq = (*box)->stats().next_seq;
      std::string json = PayloadFor(seq);
      if (!Say("append " + std::to_string(seq) + " " + static_cast<char>(kind) + " " +
               std::to_string(json.size()) + " " + Sha256Hex(json) + "\n")) {
        return 0;
      }
      auto appended = (*box)->Append(kind, std::move(json));
      if (!appended.ok()) return Fail(appended.status());
      if (*appended != seq) {
        return Fail(Status::Internal("the outbox gave seq " + std::to_string(*appended) +
                                     ", its stats said " + std::to_string(seq)));
      }
      if (!Say("outbox " + std::to_string(seq) + "\n")) return 0;
    }
  }
  return 0;
}

}  // namespace
}  // namespace vigil

int main(int argc, char** argv) { return vigil::Run(argc, argv); }
