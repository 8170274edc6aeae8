// Reading deb822 control data: dpkg's status file, apt's Packages and Release files and
// .sources files. A file is a series of stanzas separated by blank lines; a stanza is a series of
// "Name: value" fields, and a line starting with a space or tab continues the field before it.
// Lines starting with '#' are comments. Field names compare without regard to ASCII case.
//
// The reader makes one pass over the text and hands out views, so a collector can keep the few
// fields it needs without copying or building a map per stanza.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/query_context.h"

namespace vigil::tables::internal {

// Receives the lines of one file. The views handed to a handler point into the text given to
// Deb822Reader::Parse() and stay valid as long as that text; text given to Feed() is only
// valid during the call.
class Deb822Handler {
 public:
  virtual ~Deb822Handler() = default;
  // The first line of a field: its name (before the ':') and its value, trimmed. `line` counts
  // from 1.
  virtual void OnField(std::string_view name, std::string_view value, int line) = 0;
  // A continuation line of the last field, without its leading whitespace (a lone "." stands for
  // an empty line in long descriptions and is passed as it is).
  virtual void OnContinuation(std::string_view /*text*/, int /*line*/) {}
  // After the last field of a stanza: at a blank line or the end of the text. Not called for
  // runs of blank lines or comments that hold no field.
  virtual void OnStanzaEnd() = 0;
  // Return true to stop reading (the rest of the text is skipped without warnings).
  virtual bool Done() const { return false; }
};

// Splits text into lines and hands them to a handler. A line that is neither a field, a
// continuation, a comment nor blank is reported with ctx.Warn("PATH:LINE: ..."), at most
// kMaxWarnings times per file and then once more with the number left unreported.
class Deb822Reader {
 public:
  static constexpr int kMaxWarnings = 3;

  Deb822Reader(const QueryContext& ctx, std::string path, Deb822Handler& handler)
      : ctx_(ctx), path_(std::move(path)), handler_(handler) {}

  // The whole text at once; ends the last stanza. Views stay valid as long as `text`.
  void Parse(std::string_view text);
  // The text in pieces, as Host::ReadChunks delivers it; call Finish() after the last piece.
  void Feed(std::string_view chunk);
  void Finish();

 private:
  void Line(std::string_view line);

  const QueryContext& ctx_;
  const std::string path_;
  Deb822Handler& handler_;
  std::string partial_;  // an unfinished line carried between Feed() calls
  int line_ = 0;
  bool in_stanza_ = false;
  bool in_field_ = false;
  int malformed_ = 0;
};

// ASCII case-insensitive comparison, for field names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace vigil::tables::internal
