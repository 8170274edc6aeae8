// The SR catalogue: every system requirement of a standard (IEC 62443-3-3 for the first pack),
// its foundational requirement, the security levels it and its enhancements apply from, the
// crosswalks to other frameworks, and how Vigil covers it. Data, loaded from catalog.json, so a
// correction is a one-line change.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace vigil::packs {

enum class Coverage {
  kMachine,         // checks decide it and enforcers can repair it
  kDetectOnly,      // checks decide it; a person repairs it (the note says why)
  kOrganisational,  // a person's evidence decides it (the note says what to attach)
  kNotCovered,      // outside what software on the host can show (the note says why)
};

std::string_view CoverageName(Coverage coverage);  // "machine", "detect_only", ...

struct Enhancement {
  std::string id;  // "RE 1"
  std::string title;
  int sl = 1;
};

struct Requirement {
  std::string id;  // "SR 1.1"
  std::string fr;  // "FR 1"
  std::string title;
  int sl = 1;  // the level from which the base requirement applies
  std::vector<Enhancement> enhancements;
  std::map<std::string, std::vector<std::string>> frameworks;  // "nist-800-53" -> {"IA-2"}
  Coverage coverage = Coverage::kNotCovered;
  // Optional: ids of checks that evidence it. The report derives an SR's checks from the packs'
  // `sr` fields, so the shipped catalogue names none.
  std::vector<std::string> checks;
  std::string note;
};

struct FoundationalRequirement {
  std::string id;            // "FR 1"
  std::string abbreviation;  // "IAC"
  std::string title;
};

struct Catalog {
  std::string name;  // "IEC 62443-3-3"
  std::string version;
  std::vector<FoundationalRequirement> frs;
  std::vector<Requirement> srs;                        // in catalogue order
  std::map<std::string, std::string> framework_names;  // "nist-800-53" -> "NIST SP 800-53 Rev. 5"
  std::map<std::string, std::string> framework_sources;  // where each mapping comes from

  const Requirement* Find(std::string_view id) const;
  const FoundationalRequirement* FindFr(std::string_view id) const;
};

// Parses catalog.json; `file` names it in errors. Every problem is reported with its JSON
// pointer ("catalog.json: /srs/3/sl: must be an integer from 1 to 4").
Result<Catalog> ParseCatalog(std::string_view file, std::string_view content);

}  // namespace vigil::packs
