#include "server/internal/hub_evidence_format.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <utility>

namespace vigil::server::internal::evidence {

std::string Prefix(char kind) { return std::string{'\0', kind, '\0'}; }

std::string VersionKey() { return Prefix('M') + "version"; }

std::string LatestKey(std::string_view host) { return Prefix('L') + std::string(host); }

std::string VerdictKey(std::string_view host, std::string_view check) {
  std::string key = Prefix('V') + std::string(host);
  key += '\0';
  key += check;
  return key;
}

std::string Seq(int64_t n) { return store::EncodeSeq(static_cast<uint64_t>(n < 0 ? 0 : n)); }

std::string HistoryPrefix(std::string_view host, std::string_view check) {
  std::string key = Prefix('P') + std::string(host);
  key += '\0';
  key += check;
  key += '\0';
  return key;
}

std::string HistoryTime(int64_t time) {
  return store::EncodeSeq(~static_cast<uint64_t>(time < 0 ? 0 : time));
}
int64_t DecodeHistoryTime(std::string_view bytes) {
  return static_cast<int64_t>(~*store::DecodeSeq(bytes));
}

std::string HistoryKey(std::string_view host, std::string_view check, int64_t time) {
  return HistoryPrefix(host, check) + HistoryTime(time);
}

bool ParseHistoryKey(std::string_view key, std::string_view& host, std::string_view& check,
                     int64_t& time) {
  const std::string prefix = Prefix('P');
  if (!key.starts_with(prefix)) return false;
  const std::string_view rest = key.substr(prefix.size());
  const size_t nul = rest.find('\0');
  if (nul == std::string_view::npos || rest.size() < nul + 1 + 9 || rest[rest.size() - 9] != '\0') {
    return false;
  }
  host = rest.substr(0, nul);
  check = rest.substr(nul + 1, rest.size() - 9 - (nul + 1));
  time = DecodeHistoryTime(rest.substr(rest.size() - 8));
  return true;
}

std::string SnapshotPrefix(std::string_view host) {
  std::string key = Prefix('S') + std::string(host);
  key += '\0';
  return key;
}

std::string SnapshotKey(std::string_view host, int64_t day) {
  return SnapshotPrefix(host) + Seq(day);
}

std::string HeadKey(std::string_view host) { return Prefix('A') + std::string(host); }

std::string HeadHistoryPrefix(std::string_view host) {
  std::string key = Prefix('B') + std::string(host);
  key += '\0';
  return key;
}

std::string ConnectionPrefix(std::string_view host) {
  std::string key = Prefix('C') + std::string(host);
  key += '\0';
  return key;
}

std::string ConnectionKey(std::string_view host, int64_t ms) {
  return ConnectionPrefix(host) + Seq(ms);
}

// ---- the line format

void AppendField(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\x1f':
        out += "\\s";
        break;
      default:
        out += c;
    }
  }
}

std::string Unescape(std::string_view field) {
  if (field.find('\\') == std::string_view::npos) return std::string(field);
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out += field[i];
      continue;
    }
    const char next = field[++i];
    out += next == 't' ? '\t' : next == 'n' ? '\n' : next == 's' ? '\x1f' : next;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (true) {
    size_t end = text.find(sep, at);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(at));
      return parts;
    }
    parts.push_back(text.substr(at, end - at));
    at = end + 1;
  }
}

void AppendVerdictFields(std::string& out, const VerdictSummary& v) {
  AppendField(out, v.status);
  out += '\t';
  out += std::to_string(v.sl);
  out += '\t';
  AppendField(out, v.pack);
  out += '\t';
  for (size_t i = 0; i < v.sr.size(); ++i) {
    if (i > 0) out += '\x1f';
    AppendField(out, v.sr[i]);
  }
}

bool ReadVerdictFields(const std::vector<std::string_view>& parts, size_t at, VerdictSummary& v) {
  if (parts.size() != at + 4) return false;
  v.status = Unescape(parts[at]);
  auto [end, ec] =
      std::from_chars(parts[at + 1].data(), parts[at + 1].data() + parts[at + 1].size(), v.sl);
  if (ec != std::errc()) return false;
  v.pack = Unescape(parts[at + 2]);
  v.sr.clear();
  if (!parts[at + 3].empty()) {
    for (std::string_view sr : Split(parts[at + 3], '\x1f')) v.sr.push_back(Unescape(sr));
  }
  return true;
}

std::string EncodeSummaries(const std::map<std::string, VerdictSummary>& latest) {
  std::string out;
  for (const auto& [check, v] : latest) {
    AppendField(out, check);
    out += '\t';
    out += std::to_string(v.time);
    out += '\t';
    AppendVerdictFields(out, v);
    out += '\n';
  }
  return out;
}

Status DecodeSummaries(std::string_view text, std::string_view host,
                       std::vector<VerdictSummary>& out) {
  out.clear();
  size_t at = 0;
  while (at < text.size()) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    const std::vector<std::string_view> parts = Split(text.substr(at, eol - at), '\t');
    VerdictSummary v;
    bool ok = parts.size() == 6;
    if (ok) {
      v.check = Unescape(parts[0]);
      auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), v.time);
      ok = ec == std::errc() && ReadVerdictFields(parts, 2, v);
    }
    if (!ok) {
      return Status::Corruption("hub store: the latest verdicts of node " + std::string(host) +
                                " hold a malformed line");
    }
    out.push_back(std::move(v));
    at = eol + 1;
  }
  return Status::Ok();
}

std::string EncodeHead(const AuditHeadRecord& head) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("seq");
  w.Uint64(head.seq);
  w.Key("hash");
  w.String(head.hash.data(), static_cast<rapidjson::SizeType>(head.hash.size()));
  w.Key("flagged");
  w.Bool(head.flagged);
  w.Key("reason");
  w.String(head.reason.data(), static_cast<rapidjson::SizeType>(head.reason.size()));
  w.Key("flagged_at");
  w.Int64(head.flagged_at);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<AuditHeadRecord> DecodeHead(std::string_view text, std::string_view host) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  auto corrupt = [&] {
    return Status::Corruption("hub store: the audit head of node " + std::string(host) +
                              " is malformed");
  };
  if (doc.HasParseError() || !doc.IsObject()) return corrupt();
  AuditHeadRecord head;
  auto seq = doc.FindMember("seq");
  auto hash = doc.FindMember("hash");
  auto flagged = doc.FindMember("flagged");
  auto reason = doc.FindMember("reason");
  auto flagged_at = doc.FindMember("flagged_at");
  if (seq == doc.MemberEnd() || !seq->value.IsUint64() || hash == doc.MemberEnd() ||
      !hash->value.IsString() || flagged == doc.MemberEnd() || !flagged->value.IsBool() ||
      reason == doc.MemberEnd() || !reason->value.IsString() ||
      (flagged_at != doc.MemberEnd() && !flagged_at->value.IsInt64())) {
    return corrupt();
  }
  head.seq = seq->value.GetUint64();
  head.hash.assign(hash->value.GetString(), hash->value.GetStringLength());
  head.flagged = flagged->value.GetBool();
  head.reason.assign(reason->value.GetString(), reason->value.GetStringLength());
  if (flagged_at != doc.MemberEnd()) head.flagged_at = flagged_at->value.GetInt64();
  return head;
}

// ---- daily snapshots

Tally TallyOf(std::string_view status) {
  if (status == "pass" || status == "fixed") return Tally::kPass;
  if (status == "fail") return Tally::kFail;
  if (status == "error") return Tally::kError;
  return Tally::kNone;  // not_applicable
}

std::string EncodeCounts(const Counts& c) {
  return std::to_string(c.pass) + " " + std::to_string(c.fail) + " " + std::to_string(c.error);
}

Result<Counts> DecodeCounts(std::string_view text, std::string_view host) {
  const std::vector<std::string_view> parts = Split(text, ' ');
  Counts c;
  bool ok = parts.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    int& n = i == 0 ? c.pass : i == 1 ? c.fail : c.error;
    auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), n);
    ok = ec == std::errc() && end == parts[i].data() + parts[i].size();
  }
  if (!ok) {
    return Status::Corruption("hub store: a daily snapshot of node " + std::string(host) +
                              " is malformed");
  }
  return c;
}

Result<DaySnapshot> DecodeDaySnapshot(std::string_view key, std::string_view prefix,
                                      std::string_view value, std::string_view host) {
  auto day = store::DecodeSeq(key.substr(prefix.size()));
  if (!day) {
    return Status::Corruption("hub store: a daily snapshot key of node " + std::string(host) +
                              " is not a day");
  }
  VIGIL_ASSIGN_OR_RETURN(Counts counts, DecodeCounts(value, host));
  return DaySnapshot{static_cast<int64_t>(*day), counts};
}

// ---- history lookups

namespace {

// Moves `cursor` to the first key >= `target`, as Seek(target) does. A report looks up a node's
// checks in key order, so the cursor is often a few entries before the target already (on the
// previous check's entry, with the newer entries of this check between): up to this many Next()
// calls cost less than a seek. Beyond them (a long history since the time), one seek.
constexpr int kStepsBeforeSeek = 4;

void SeekAhead(store::Store::Cursor& cursor, std::string_view near, std::string_view target) {
  if (cursor.Valid() && cursor.key().starts_with(near) && cursor.key() < target) {
    for (int i = 0; i < kStepsBeforeSeek; ++i) {
      cursor.Next();
      if (!cursor.Valid()) break;  // the end or an error: the seek below settles it
      if (cursor.key() >= target) return;
    }
  }
  cursor.Seek(target);
}

}  // namespace

Result<std::optional<VerdictSummary>> EntryAtOrBefore(store::Store::Cursor& cursor,
                                                      std::string_view host, std::string_view check,
                                                      int64_t t) {
  std::optional<VerdictSummary> found;
  if (t < 0) return found;
  const std::string prefix = HistoryPrefix(host, check);
  // NUL "P" NUL HOST NUL: the node's history, where the cursor may be already.
  const std::string_view node = std::string_view(prefix).substr(0, 4 + host.size());
  for (SeekAhead(cursor, node, prefix + HistoryTime(t)); cursor.Valid(); cursor.Next()) {
    const std::string_view key = cursor.key();
    if (!key.starts_with(prefix)) break;
    // A longer check that begins with this one and a NUL (an older hub indexed those): not this
    // check's, and sorted among its entries.
    if (key.size() != prefix.size() + 8) continue;
    VerdictSummary v;
    v.check = std::string(check);
    v.time = DecodeHistoryTime(key.substr(prefix.size()));
    if (!ReadVerdictFields(Split(cursor.value(), '\t'), 0, v)) {
      return Status::Corruption("hub store: the verdict history entry of node " +
                                std::string(host) + ", check " + std::string(check) +
                                " is malformed");
    }
    found = std::move(v);
    break;
  }
  VIGIL_RETURN_IF_ERROR(cursor.status());
  return found;
}

Result<std::optional<int64_t>> EntryTimeAfter(store::Store::Cursor& cursor, std::string_view host,
                                              std::string_view check, int64_t t) {
  std::optional<int64_t> found;
  const std::string prefix = HistoryPrefix(host, check);
  for (cursor.SeekForPrev(prefix + HistoryTime(t + 1)); cursor.Valid(); cursor.Prev()) {
    const std::string_view key = cursor.key();
    if (!key.starts_with(prefix)) break;
    if (key.size() != prefix.size() + 8) continue;
    found = DecodeHistoryTime(key.substr(prefix.size()));
    break;
  }
  VIGIL_RETURN_IF_ERROR(cursor.status());
  return found;
}

}  // namespace vigil::server::internal::evidence
