#include "engine/packs/report.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "engine/digest.h"
#include "engine/process.h"

namespace vigil::packs {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Key(Writer& w, std::string_view s) { w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void WriteValue(Writer& w, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: w.Null(); break;
    case Value::Type::kInteger: w.Int64(v.integer()); break;
    case Value::Type::kReal:
      if (std::isfinite(v.real())) {
        w.Double(v.real());
      } else {
        w.Null();
      }
      break;
    case Value::Type::kText: Str(w, v.text()); break;
  }
}

void WriteStrings(Writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const std::string& s : items) Str(w, s);
  w.EndArray();
}

void WriteFrameworks(Writer& w, const std::map<std::string, std::vector<std::string>>& f) {
  w.StartObject();
  for (const auto& [name, ids] : f) {
    Key(w, name);
    WriteStrings(w, ids);
  }
  w.EndObject();
}

void WriteVerdict(Writer& w, const Verdict& v) {
  w.StartObject();
  Key(w, "check");
  Str(w, v.check);
  Key(w, "pack");
  Str(w, v.pack);
  Key(w, "sr");
  WriteStrings(w, v.sr);
  Key(w, "sl");
  w.Int(v.sl);
  Key(w, "status");
  Str(w, VerdictStatusName(v.status));
  Key(w, "rows");
  w.StartArray();
  for (const Row& row : v.rows) {
    w.StartObject();
    for (size_t i = 0; i < row.size() && i < v.columns.size(); ++i) {
      Key(w, v.columns[i]);
      WriteValue(w, row[i]);
    }
    w.EndObject();
  }
  w.EndArray();
  Key(w, "rows_total");
  w.Uint64(v.rows_total);
  Key(w, "error");
  if (v.error.empty()) {
    w.Null();
  } else {
    Str(w, v.error);
  }
  Key(w, "duration_ms");
  w.Double(std::round(v.duration_ms * 1000) / 1000);
  Key(w, "time");
  Str(w, v.time);
  Key(w, "enforcer");
  if (v.enforcer.empty()) {
    w.Null();
  } else {
    Str(w, v.enforcer);
  }
  Key(w, "remediation");
  if (!v.remediation) {
    w.Null();
  } else {
    const Remediation& r = *v.remediation;
    w.StartObject();
    Key(w, "outcome");
    Str(w, r.outcome);
    Key(w, "changes");
    w.StartArray();
    for (const Change& c : r.changes) {
      w.StartObject();
      Key(w, "kind");
      Str(w, c.kind == Change::Kind::kFile ? "file" : "command");
      if (c.kind == Change::Kind::kFile) {
        Key(w, "path");
        Str(w, c.path);
        Key(w, "diff");
        Str(w, c.diff);
      } else {
        Key(w, "argv");
        WriteStrings(w, c.argv);
        Key(w, "exit");
        if (c.exit_code) {
          w.Int(*c.exit_code);
        } else {
          w.Null();
        }
      }
      w.EndObject();
    }
    w.EndArray();
    Key(w, "message");
    Str(w, r.message);
    Key(w, "audit_seq");
    if (r.audit_seq) {
      w.Uint64(*r.audit_seq);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndObject();
}

void WriteCounts(Writer& w, const std::map<std::string, int>& counts,
                 std::initializer_list<const char*> order) {
  w.StartObject();
  for (const char* name : order) {
    Key(w, name);
    auto it = counts.find(name);
    w.Int(it == counts.end() ? 0 : it->second);
  }
  w.EndObject();
}

std::string SrStatus(const Requirement& sr, const std::vector<const Verdict*>& verdicts,
                     int target_sl) {
  std::vector<VerdictStatus> statuses;
  statuses.reserve(verdicts.size());
  for (const Verdict* v : verdicts) statuses.push_back(v->status);
  return SrStatusOf(sr, statuses, target_sl);
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? std::string(sep) : "") + items[i];
  return out;
}

}  // namespace

std::string SrStatusOf(const Requirement& sr, const std::vector<VerdictStatus>& statuses,
                       int target_sl) {
  if (sr.coverage == Coverage::kOrganisational) return "organisational";
  if (sr.coverage == Coverage::kNotCovered) return "not_covered";
  if (sr.sl > target_sl) return "not_applicable";
  bool any = false, failed = false, errored = false;
  for (VerdictStatus status : statuses) {
    if (status == VerdictStatus::kNotApplicable) continue;
    any = true;
    failed |= status == VerdictStatus::kFail;
    errored |= status == VerdictStatus::kError;
  }
  if (!any) return "not_applicable";
  if (failed) return "fail";
  if (errored) return "error";
  return "pass";
}

std::string CsvCell(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string VerdictJson(const Verdict& verdict) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WriteVerdict(w, verdict);
  return buffer.GetString();
}

std::string VerdictsJson(const std::vector<Verdict>& verdicts) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const Verdict& v : verdicts) WriteVerdict(w, v);
  w.EndArray();
  return buffer.GetString();
}

CheckReport BuildReport(const Catalog& catalog, const std::vector<Pack>& packs,
                        std::vector<Verdict> verdicts, HostFacts host, int target_sl) {
  CheckReport report;
  report.vigil_version = VIGIL_VERSION;
  report.host = std::move(host);
  report.time = NowRfc3339();
  report.target_sl = target_sl;
  for (const Pack& p : packs) {
    report.packs.emplace_back(p.name, p.sha256);
    for (const Check& c : p.checks) {
      if (!c.description.empty()) report.descriptions.emplace(c.id, c.description);
    }
  }
  for (const Verdict& v : verdicts) ++report.check_counts[std::string(VerdictStatusName(v.status))];
  for (const Requirement& sr : catalog.srs) {
    std::vector<const Verdict*> mine;
    SrResult result{sr.id, sr.fr, sr.title, "", {}, sr.frameworks, sr.note};
    for (const Verdict& v : verdicts) {
      if (std::find(v.sr.begin(), v.sr.end(), sr.id) == v.sr.end()) continue;
      mine.push_back(&v);
      result.checks.push_back(v.check);
    }
    result.status = SrStatus(sr, mine, target_sl);
    if (result.status == "not_applicable" && result.note.empty()) {
      result.note = sr.sl > target_sl ? "applies from SL " + std::to_string(sr.sl)
                                      : "no check of it applies at SL " +
                                            std::to_string(target_sl) + " on this host";
    }
    ++report.sr_counts[result.status];
    report.srs.push_back(std::move(result));
  }
  report.checks = std::move(verdicts);
  report.evidence_sha256 = Sha256Hex(VerdictsJson(report.checks));
  return report;
}

std::string ReportJson(const CheckReport& report) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Key(w, "schema");
  Str(w, "vigil.check_report/1");
  Key(w, "vigil_version");
  Str(w, report.vigil_version);
  Key(w, "host");
  w.StartObject();
  Key(w, "identifier");
  Str(w, report.host.identifier);
  Key(w, "hostname");
  Str(w, report.host.hostname);
  Key(w, "os");
  Str(w, report.host.os);
  Key(w, "root");
  Str(w, report.host.root);
  w.EndObject();
  Key(w, "time");
  Str(w, report.time);
  Key(w, "target_sl");
  w.Int(report.target_sl);
  Key(w, "packs");
  w.StartArray();
  for (const auto& [name, sha] : report.packs) {
    w.StartObject();
    Key(w, "name");
    Str(w, name);
    Key(w, "sha256");
    Str(w, sha);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "summary");
  w.StartObject();
  Key(w, "checks");
  WriteCounts(w, report.check_counts, {"pass", "fail", "error", "not_applicable", "fixed"});
  Key(w, "srs");
  WriteCounts(w, report.sr_counts,
              {"pass", "fail", "error", "not_applicable", "organisational", "not_covered"});
  w.EndObject();
  Key(w, "srs");
  w.StartArray();
  for (const SrResult& sr : report.srs) {
    w.StartObject();
    Key(w, "id");
    Str(w, sr.id);
    Key(w, "fr");
    Str(w, sr.fr);
    Key(w, "title");
    Str(w, sr.title);
    Key(w, "status");
    Str(w, sr.status);
    Key(w, "checks");
    WriteStrings(w, sr.checks);
    Key(w, "frameworks");
    WriteFrameworks(w, sr.frameworks);
    Key(w, "note");
    if (sr.note.empty()) {
      w.Null();
    } else {
      Str(w, sr.note);
    }
    w.EndObject();
  }
  w.EndArray();
  Key(w, "checks");
  w.StartArray();
  for (const Verdict& v : report.checks) WriteVerdict(w, v);
  w.EndArray();
  Key(w, "evidence_sha256");
  Str(w, report.evidence_sha256);
  w.EndObject();
  return std::string(buffer.GetString()) + "\n";
}

std::string ReportText(const CheckReport& report, const Catalog& catalog) {
  std::string out = (catalog.name.empty() ? std::string("Compliance") : catalog.name) +
                    " report for " + report.host.hostname + " (root " + report.host.root +
                    "), target SL " + std::to_string(report.target_sl) + ", " + report.time + "\n";
  auto count = [](const std::map<std::string, int>& m, const char* k) {
    auto it = m.find(k);
    return std::to_string(it == m.end() ? 0 : it->second);
  };
  out += "Checks: " + count(report.check_counts, "pass") + " pass, " +
         count(report.check_counts, "fail") + " fail, " + count(report.check_counts, "fixed") +
         " fixed, " + count(report.check_counts, "error") + " error, " +
         count(report.check_counts, "not_applicable") + " not applicable\n";
  if (!catalog.srs.empty()) {
    out += "SRs: " + count(report.sr_counts, "pass") + " pass, " +
           count(report.sr_counts, "fail") + " fail, " + count(report.sr_counts, "error") +
           " error, " + count(report.sr_counts, "not_applicable") + " not applicable, " +
           count(report.sr_counts, "organisational") + " organisational, " +
           count(report.sr_counts, "not_covered") + " not covered\n";
  }
  auto upper = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), ::toupper);
    return s;
  };
  for (const FoundationalRequirement& fr : catalog.frs) {
    out += "\n" + fr.id + " " + fr.title + "\n";
    for (const SrResult& sr : report.srs) {
      if (sr.fr != fr.id) continue;
      out += "  [" + upper(sr.status) + "] " + sr.id + " " + sr.title;
      if (!sr.checks.empty() && (sr.status == "fail" || sr.status == "error")) {
        std::string failing;
        for (const Verdict& v : report.checks) {
          if (std::find(sr.checks.begin(), sr.checks.end(), v.check) == sr.checks.end()) continue;
          if (v.status != VerdictStatus::kFail && v.status != VerdictStatus::kError) continue;
          failing += (failing.empty() ? "" : ", ") + v.check;
        }
        out += ": " + failing;
      }
      out += "\n";
      if (!sr.note.empty() && sr.status != "pass" && sr.status != "fail") {
        out += "      " + sr.note + "\n";
      }
    }
  }

  // Each check that did not simply pass, once, with its evidence and its repair.
  bool heading = false;
  for (const Verdict& v : report.checks) {
    if (v.status == VerdictStatus::kPass || v.status == VerdictStatus::kNotApplicable) continue;
    if (v.status == VerdictStatus::kFixed && !v.remediation) continue;
    if (!heading) out += "\nChecks that need attention\n";
    heading = true;
    out += "  " + upper(std::string(VerdictStatusName(v.status))) + " " + v.check + " (" +
           Join(v.sr, ", ") + ")";
    if (!v.error.empty()) out += ": " + v.error;
    out += "\n";
    for (size_t r = 0; r < v.rows.size() && r < 5; ++r) {
      std::string line;
      for (size_t c = 0; c < v.rows[r].size() && c < v.columns.size(); ++c) {
        line += (c > 0 ? ", " : "") + v.columns[c] + "=" + v.rows[r][c].ToString();
      }
      out += "      " + line + "\n";
    }
    if (v.rows_total > 5) out += "      ... " + std::to_string(v.rows_total - 5) + " more rows\n";
    if (!v.remediation) continue;
    const Remediation& rem = *v.remediation;
    out += "    " + v.enforcer + ": " + rem.outcome;
    if (rem.audit_seq) out += " (audit record " + std::to_string(*rem.audit_seq) + ")";
    if (!rem.message.empty()) out += ": " + rem.message;
    out += "\n";
    for (const Change& c : rem.changes) {
      if (c.kind == Change::Kind::kCommand) {
        out += "      $ " + FormatCommand(c.argv);
        if (c.exit_code) out += "   (exit " + std::to_string(*c.exit_code) + ")";
        out += "\n";
        continue;
      }
      size_t at = 0;
      while (at < c.diff.size()) {
        size_t eol = c.diff.find('\n', at);
        if (eol == std::string::npos) eol = c.diff.size();
        out += "      " + c.diff.substr(at, eol - at) + "\n";
        at = eol + 1;
      }
    }
  }
  out += "\nEvidence SHA-256: " + report.evidence_sha256 + "\n";
  return out;
}

std::string ReportCsv(const CheckReport& report) {
  std::string out = "sr,fr,title,sr_status,check,check_status,rows_total,error,frameworks\r\n";
  for (const SrResult& sr : report.srs) {
    std::string frameworks;
    for (const auto& [name, ids] : sr.frameworks) {
      frameworks += (frameworks.empty() ? "" : "; ") + name + ": " + Join(ids, " ");
    }
    std::vector<const Verdict*> mine;
    for (const Verdict& v : report.checks) {
      if (std::find(sr.checks.begin(), sr.checks.end(), v.check) != sr.checks.end()) {
        mine.push_back(&v);
      }
    }
    auto line = [&](const Verdict* v) {
      out += CsvCell(sr.id) + "," + CsvCell(sr.fr) + "," + CsvCell(sr.title) + "," + sr.status +
             "," + (v ? CsvCell(v->check) : "") + "," +
             (v ? std::string(VerdictStatusName(v->status)) : "") + "," +
             (v ? std::to_string(v->rows_total) : "") + "," + (v ? CsvCell(v->error) : "") + "," +
             CsvCell(frameworks) + "\r\n";
    };
    if (mine.empty()) line(nullptr);
    for (const Verdict* v : mine) line(v);
  }
  return out;
}

}  // namespace vigil::packs
