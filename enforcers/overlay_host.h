// A Host that shows planned file edits over another Host without writing them. The applier
// hands it to each action in turn, so the action planning the second violation of a check
// reads the file as the first one's plan left it, and the plans compose into one change per
// file.
#pragma once

#include <map>
#include <string>

#include "enforcers/action.h"
#include "engine/host.h"

namespace vigil::enforcers {

class OverlayHost final : public Host {
 public:
  // `base` must outlive the overlay.
  explicit OverlayHost(const Host& base);

  // Lays `edit` over what the path shows now (content, mode, owner, symlink or removal; fields
  // the edit leaves unset keep what is there). InvalidArgument for a relative path.
  Status Apply(const FileEdit& edit);

  // The combined edit of every path touched so far, each relative to the base host. Keys (and
  // each edit's path) have their folders resolved; a removal or symlink edit names the entry
  // itself, a content, mode or owner edit the file a final symlink points to.
  const std::map<std::string, FileEdit>& edits() const { return edits_; }

  Result<std::string> Canonical(std::string_view path) const override;
  Result<std::string> ReadFile(std::string_view path,
                               size_t max_bytes = kDefaultMaxRead) const override;
  Status ReadChunks(std::string_view path, size_t max_bytes,
                    const std::function<Status(std::string_view chunk)>& consume) const override;
  Result<std::vector<DirEntry>> ListDirectory(std::string_view path) const override;
  Result<struct stat> Stat(std::string_view path) const override;
  Result<struct stat> Lstat(std::string_view path) const override;
  Result<std::string> ReadLink(std::string_view path) const override;
  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            const CommandOptions& options = {}) const override;

 private:
  // Keys of edits_: the path with its folders resolved (the entry itself, a link not followed),
  // or wholly resolved (what the path names). Paths the base cannot resolve are kept as given.
  std::string LinkKey(std::string_view path) const;
  std::string TargetKey(std::string_view path) const;
  // The edit of the entry itself; the edit a following read sees (the entry's, else its
  // target's).
  const FileEdit* FindEntry(std::string_view path) const;
  const FileEdit* Find(std::string_view path) const;

  const Host& base_;
  std::map<std::string, FileEdit> edits_;
};

}  // namespace vigil::enforcers
