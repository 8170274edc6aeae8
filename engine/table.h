// The interface every collector implements. A table never sees SQLite: the bridge
// (engine/sql/bridge.h) turns a statement's scan into one generate() call.
#pragma once

#include <vector>

#include "engine/query_context.h"
#include "engine/schema.h"
#include "engine/status.h"
#include "engine/value.h"

namespace vigil {

class Table {
 public:
  virtual ~Table() = default;

  virtual const Schema& schema() const = 0;

  // Every row of the table that may satisfy `ctx`, values in schema order, one Value per column
  // (NULL where unknown or where the column is unused). Must be safe to call from several
  // threads at once: a table holds no per-query state.
  virtual Result<std::vector<Row>> generate(const QueryContext& ctx) const = 0;
};

}  // namespace vigil
