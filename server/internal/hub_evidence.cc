#include "server/internal/hub_evidence.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <chrono>
#include <map>
#include <set>

#include "engine/packs/verdict_json.h"

namespace vigil::server::internal {
namespace {

using store::Family;
using store::Mutation;

std::string Prefix(char kind) { return std::string{'\0', kind, '\0'}; }

std::string LatestKey(std::string_view host) { return Prefix('L') + std::string(host); }

std::string VerdictKey(std::string_view host, std::string_view check) {
  std::string key = Prefix('V') + std::string(host);
  key += '\0';
  key += check;
  return key;
}

std::string HistoryKey(int64_t time, std::string_view host, std::string_view check) {
  std::string key = Prefix('H') + store::EncodeSeq(static_cast<uint64_t>(time < 0 ? 0 : time));
  key += host;
  key += '\0';
  key += check;
  return key;
}

std::string HeadKey(std::string_view host) { return Prefix('A') + std::string(host); }

constexpr int64_t kDay = 86400;
int64_t DayOf(int64_t time) { return time < 0 ? 0 : time / kDay; }

std::string DayKey(int64_t day, std::string_view host) {
  return Prefix('D') + store::EncodeSeq(static_cast<uint64_t>(day)) + std::string(host);
}

std::string ConnectionKey(std::string_view host, int64_t ms) {
  std::string key = Prefix('C') + std::string(host);
  key += '\0';
  key += store::EncodeSeq(static_cast<uint64_t>(ms < 0 ? 0 : ms));
  return key;
}

// ---- the line format of summaries and history values: fields split by TAB, SR ids by US
// (0x1f), with backslash escapes for those bytes, newline and backslash.

void AppendField(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\x1f': out += "\\s"; break;
      default: out += c;
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

// Splits at `sep`; escapes never produce a raw separator, so a plain split is exact.
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

// status TAB sl TAB pack TAB sr US sr ...
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
  auto [end, ec] = std::from_chars(parts[at + 1].data(),
                                   parts[at + 1].data() + parts[at + 1].size(), v.sl);
  if (ec != std::errc()) return false;
  v.pack = Unescape(parts[at + 2]);
  v.sr.clear();
  if (!parts[at + 3].empty()) {
    for (std::string_view sr : Split(parts[at + 3], '\x1f')) v.sr.push_back(Unescape(sr));
  }
  return true;
}

// One line per check: check TAB time TAB (verdict fields).
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
      auto [end, ec] =
          std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), v.time);
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
  if (seq == doc.MemberEnd() || !seq->value.IsUint64() || hash == doc.MemberEnd() ||
      !hash->value.IsString() || flagged == doc.MemberEnd() || !flagged->value.IsBool() ||
      reason == doc.MemberEnd() || !reason->value.IsString()) {
    return corrupt();
  }
  head.seq = seq->value.GetUint64();
  head.hash.assign(hash->value.GetString(), hash->value.GetStringLength());
  head.flagged = flagged->value.GetBool();
  head.reason.assign(reason->value.GetString(), reason->value.GetStringLength());
  return head;
}

int64_t UnixSecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The new head against the last one: the reason it contradicts it, or "" when it does not.
std::string Contradiction(const AuditHeadRecord& last, uint64_t seq, std::string_view hash) {
  if (seq < last.seq) {
    return "audit chain went back from seq " + std::to_string(last.seq) + " to seq " +
           std::to_string(seq) + " (truncated)";
  }
  if (seq == last.seq && hash != last.hash) {
    return "audit chain seq " + std::to_string(seq) + " changed hash from " + last.hash + " to " +
           std::string(hash) + " (rewritten)";
  }
  return "";
}

}  // namespace

Status EvidenceIndex::Index(std::string_view host, const std::vector<std::string_view>& items,
                            std::vector<Mutation>& batch) const {
  std::optional<std::map<std::string, VerdictSummary>> latest;  // read on the first verdict
  std::optional<std::optional<AuditHeadRecord>> head;           // read on the first head
  std::set<int64_t> days;  // the days of the verdicts that became the latest
  for (std::string_view item : items) {
    rapidjson::Document doc;
    doc.Parse(item.data(), item.size());
    if (doc.HasParseError() || !doc.IsObject()) continue;
    auto kind = doc.FindMember("kind");
    if (kind == doc.MemberEnd() || !kind->value.IsString()) continue;
    const std::string_view name(kind->value.GetString(), kind->value.GetStringLength());
    if (name == "verdict") {
      auto parsed = packs::ParseVerdictJson(item);
      if (!parsed.ok()) continue;
      VerdictSummary v;
      v.check = parsed->check;
      v.pack = parsed->pack;
      v.sr = parsed->sr;
      v.sl = parsed->sl;
      v.status = std::string(packs::VerdictStatusName(parsed->status));
      v.time = packs::ParseRfc3339(parsed->time).value_or(UnixSecondsNow());
      if (!latest) {
        latest.emplace();
        VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, LatestKey(host)));
        if (stored) {
          std::vector<VerdictSummary> old;
          VIGIL_RETURN_IF_ERROR(DecodeSummaries(*stored, host, old));
          for (VerdictSummary& o : old) latest->emplace(o.check, std::move(o));
        }
      }
      std::string history;
      AppendVerdictFields(history, v);
      batch.push_back(
          Mutation::Put(Family::kEvidence, HistoryKey(v.time, host, v.check), std::move(history)));
      auto it = latest->find(v.check);
      if (it != latest->end() && it->second.time > v.time) continue;  // an older verdict
      batch.push_back(
          Mutation::Put(Family::kEvidence, VerdictKey(host, v.check), std::string(item)));
      days.insert(DayOf(v.time));
      (*latest)[v.check] = std::move(v);
    } else if (name == "audit_head") {
      auto seq = doc.FindMember("seq");
      auto hash = doc.FindMember("hash");
      if (seq == doc.MemberEnd() || !seq->value.IsUint64() || hash == doc.MemberEnd() ||
          !hash->value.IsString()) {
        continue;
      }
      const std::string_view hash_text(hash->value.GetString(), hash->value.GetStringLength());
      if (!head) {
        VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, HeadKey(host)));
        head.emplace();
        if (stored) {
          VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord record, DecodeHead(*stored, host));
          head->emplace(std::move(record));
        }
      }
      AuditHeadRecord next;
      if (*head) {
        next = **head;
        if (!next.flagged) {
          next.reason = Contradiction(next, seq->value.GetUint64(), hash_text);
          next.flagged = !next.reason.empty();
        }
      }
      next.seq = seq->value.GetUint64();
      next.hash = std::string(hash_text);
      *head = next;
    }
  }
  if (latest) {
    batch.push_back(Mutation::Put(Family::kEvidence, LatestKey(host), EncodeSummaries(*latest)));
    for (int64_t day : days) {
      int pass = 0, fail = 0, error = 0;
      for (const auto& [check, v] : *latest) {
        if (DayOf(v.time) != day) continue;
        pass += v.status == "pass" || v.status == "fixed";
        fail += v.status == "fail";
        error += v.status == "error";
      }
      batch.push_back(Mutation::Put(
          Family::kEvidence, DayKey(day, host),
          std::to_string(pass) + " " + std::to_string(fail) + " " + std::to_string(error)));
    }
  }
  if (head && *head) batch.push_back(Mutation::Put(Family::kEvidence, HeadKey(host), EncodeHead(**head)));
  return Status::Ok();
}

Status EvidenceIndex::LatestVerdicts(
    const std::function<bool(std::string_view, const std::vector<VerdictSummary>&)>& visit)
    const {
  const std::string prefix = Prefix('L');
  Status result;
  std::vector<VerdictSummary> verdicts;
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, prefix, [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        const std::string_view host = key.substr(prefix.size());
        result = DecodeSummaries(value, host, verdicts);
        if (!result.ok()) return false;
        return visit(host, verdicts);
      }));
  return result;
}

Result<std::optional<std::string>> EvidenceIndex::LatestVerdictJson(std::string_view host,
                                                                    std::string_view check) const {
  return store_.Get(Family::kEvidence, VerdictKey(host, check));
}

Status EvidenceIndex::VerdictHistory(
    std::string_view host, int64_t from, int64_t to,
    const std::function<bool(const VerdictHistoryEntry&)>& visit) const {
  if (to < from || to < 0) return Status::Ok();
  const std::string prefix = Prefix('H');
  Status result;
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, HistoryKey(from, "", ""),
      [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix) || key.size() < prefix.size() + 8) return false;
        const auto time = store::DecodeSeq(key.substr(prefix.size(), 8));
        if (!time || static_cast<int64_t>(*time) > to) return false;
        const std::string_view rest = key.substr(prefix.size() + 8);
        const size_t nul = rest.find('\0');
        if (nul == std::string_view::npos) {
          result = Status::Corruption("hub store: a verdict history key has no check");
          return false;
        }
        if (!host.empty() && rest.substr(0, nul) != host) return true;
        VerdictHistoryEntry entry;
        entry.host_identifier = std::string(rest.substr(0, nul));
        entry.verdict.check = std::string(rest.substr(nul + 1));
        entry.verdict.time = static_cast<int64_t>(*time);
        if (!ReadVerdictFields(Split(value, '\t'), 0, entry.verdict)) {
          result = Status::Corruption("hub store: the verdict history entry of node " +
                                      entry.host_identifier + ", check " + entry.verdict.check +
                                      " is malformed");
          return false;
        }
        return visit(entry);
      }));
  return result;
}

Status EvidenceIndex::VerdictDays(int64_t from, int64_t to,
                                  const std::function<bool(const VerdictDayCounts&)>& visit) const {
  if (to < from || to < 0) return Status::Ok();
  const std::string prefix = Prefix('D');
  const int64_t last = DayOf(to);
  Status result;
  VIGIL_RETURN_IF_ERROR(store_.Scan(
      Family::kEvidence, DayKey(DayOf(from), ""),
      [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix) || key.size() < prefix.size() + 8) return false;
        const auto day = store::DecodeSeq(key.substr(prefix.size(), 8));
        if (!day || static_cast<int64_t>(*day) > last) return false;
        VerdictDayCounts counts;
        counts.day = static_cast<int64_t>(*day) * kDay;
        counts.host_identifier = std::string(key.substr(prefix.size() + 8));
        const std::vector<std::string_view> parts = Split(value, ' ');
        bool ok = parts.size() == 3;
        for (size_t i = 0; ok && i < 3; ++i) {
          int& n = i == 0 ? counts.pass : i == 1 ? counts.fail : counts.error;
          auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), n);
          ok = ec == std::errc() && end == parts[i].data() + parts[i].size();
        }
        if (!ok) {
          result = Status::Corruption("hub store: the day counts of node " +
                                      counts.host_identifier + " are malformed");
          return false;
        }
        return visit(counts);
      }));
  return result;
}

Result<std::optional<AuditHeadRecord>> EvidenceIndex::AuditHead(std::string_view host) const {
  VIGIL_ASSIGN_OR_RETURN(auto stored, store_.Get(Family::kEvidence, HeadKey(host)));
  if (!stored) return std::optional<AuditHeadRecord>();
  VIGIL_ASSIGN_OR_RETURN(AuditHeadRecord head, DecodeHead(*stored, host));
  return std::optional<AuditHeadRecord>(std::move(head));
}

Status EvidenceIndex::RecordConnection(std::string_view host, int64_t unix_ms, bool connected) {
  return store_.Put(Family::kEvidence, ConnectionKey(host, unix_ms), connected ? "1" : "0");
}

Result<NodePresence> EvidenceIndex::PresenceAt(std::string_view host, int64_t unix_ms) const {
  NodePresence presence;
  if (unix_ms < 0) return presence;
  std::string prefix = Prefix('C') + std::string(host);
  prefix += '\0';
  const std::string from = ConnectionKey(host, unix_ms);
  VIGIL_RETURN_IF_ERROR(store_.ScanBackward(
      Family::kEvidence, std::string_view(from), [&](std::string_view key, std::string_view value) {
        if (!key.starts_with(prefix)) return false;
        auto ms = store::DecodeSeq(key.substr(prefix.size()));
        if (!ms) return false;
        presence.known = true;
        presence.online = value == "1";
        presence.since_ms = static_cast<int64_t>(*ms);
        return false;
      }));
  return presence;
}

}  // namespace vigil::server::internal
