// A table served by an extension process: each scan is one `Extension.call` over the
// extension's UNIX socket, bounded by the call timeout. Built by the extension server when an
// extension registers (see vigil_extension.thrift for the protocol).
//
// An extension that cannot be reached, times out or breaks the protocol is marked dead on its
// ExtensionLink; its tables then fail at once ("no longer available") and the server removes
// them from the engine after the running statement, never from inside it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/extension/gen/vigil_extension_types.h"
#include "engine/table.h"

namespace vigil::agent::extension {

// What the tables of one registered extension share: where to reach it, how long to wait, and
// whether it is still alive. Thread-safe.
class ExtensionLink {
 public:
  // `on_dead` runs once, on the thread that marks the link dead; it must not block (it wakes
  // the server's housekeeping thread).
  ExtensionLink(std::string name, std::string socket_path,
                std::chrono::milliseconds call_timeout, std::function<void()> on_dead);

  const std::string& name() const { return name_; }
  const std::string& socket_path() const { return socket_path_; }
  std::chrono::milliseconds call_timeout() const { return call_timeout_; }

  bool dead() const { return dead_.load(); }
  // Why it was marked dead ("" while alive).
  std::string reason() const;
  void MarkDead(const std::string& reason);

 private:
  const std::string name_;
  const std::string socket_path_;
  const std::chrono::milliseconds call_timeout_;
  const std::function<void()> on_dead_;
  std::atomic<bool> dead_{false};
  mutable std::mutex mutex_;
  std::string reason_;  // guarded by mutex_
};

class ExtensionTable final : public Table {
 public:
  // Validates the registered schema (names, descriptions, column types); errors name the
  // table and column.
  static Result<std::unique_ptr<ExtensionTable>> Make(const wire::TableSchema& schema,
                                                      std::shared_ptr<ExtensionLink> link);

  const Schema& schema() const override { return schema_; }
  Result<std::vector<Row>> generate(const QueryContext& ctx) const override;

 private:
  ExtensionTable(Schema schema, std::shared_ptr<ExtensionLink> link)
      : schema_(std::move(schema)), link_(std::move(link)) {}

  const Schema schema_;
  const std::shared_ptr<ExtensionLink> link_;
};

// Calls `ping` on the extension listening at `socket_path`; ok when it answers code 0 within
// `timeout`.
Status PingExtension(const std::string& socket_path, std::chrono::milliseconds timeout);

// The scan's context as the `request` map of Extension.call (action, constraints, columns).
std::map<std::string, std::string> CallRequest(const QueryContext& ctx);

}  // namespace vigil::agent::extension
