#include "tables/internal/deb822.h"

#include <cstring>

#include "tables/internal/text.h"

namespace vigil::tables::internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void Deb822Reader::Parse(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && !handler_.Done()) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    const char* eol = nl != nullptr ? static_cast<const char*>(nl) : end;
    Line(std::string_view(p, static_cast<size_t>(eol - p)));
    p = eol + 1;
  }
  Finish();
}

void Deb822Reader::Feed(std::string_view chunk) {
  while (!chunk.empty() && !handler_.Done()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(chunk);
      return;
    }
    if (partial_.empty()) {
      Line(chunk.substr(0, nl));
    } else {
      partial_.append(chunk.substr(0, nl));
      std::string line = std::move(partial_);
      partial_.clear();
      Line(line);
    }
    chunk.remove_prefix(nl + 1);
  }
}

void Deb822Reader::Finish() {
  if (!partial_.empty() && !handler_.Done()) {
    std::string line = std::move(partial_);
    partial_.clear();
    Line(line);
  }
  if (in_stanza_ && !handler_.Done()) handler_.OnStanzaEnd();
  in_stanza_ = false;
  in_field_ = false;
  if (malformed_ > kMaxWarnings) {
    ctx_.Warn(path_ + ": " + std::to_string(malformed_ - kMaxWarnings) +
              " more malformed lines not shown");
  }
  malformed_ = 0;
}

void Deb822Reader::Line(std::string_view line) {
  ++line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.find_first_not_of(" \t") == std::string_view::npos) {
    if (in_stanza_) handler_.OnStanzaEnd();
    in_stanza_ = false;
    in_field_ = false;
    return;
  }
  if (line[0] == '#') return;
  if (line[0] == ' ' || line[0] == '\t') {
    if (in_field_) {
      handler_.OnContinuation(Trim(line), line_);
      return;
    }
  } else {
    size_t colon = line.find(':');
    std::string_view name =
        colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
    if (!name.empty() && name.find_first_of(" \t") == std::string_view::npos) {
      in_stanza_ = true;
      in_field_ = true;
      handler_.OnField(name, Trim(line.substr(colon + 1)), line_);
      return;
    }
  }
  if (++malformed_ <= kMaxWarnings) {
    ctx_.Warn(path_ + ":" + std::to_string(line_) +
              (line[0] == ' ' || line[0] == '\t' ? ": continuation line outside a field"
                                                 : ": not a 'Field: value' line"));
  }
}

}  // namespace vigil::tables::internal
