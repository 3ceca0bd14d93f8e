// An Acero node that passes batches through unchanged and fails the plan as soon as the query
// is cancelled (deadline passed, stop token fired) or the plan is being stopped. Acero checks
// a stop request only when a task starts, and one hash-join probe task can run for minutes: it
// joins a probe batch with every matching build row (a cross join: all of them) and hands the
// output downstream batch by batch. A guard right after the join sees each of those batches, and
// its error ends the probe loop, so a timed-out or closed query stops within one output batch.
//
// Thread-safety: a guard node is called concurrently by the plan's tasks; StopGuardNodes may be
// called from any thread.
#pragma once

#include <arrow/acero/exec_plan.h>
#include <arrow/acero/options.h>
#include <arrow/status.h>

#include "sql/operators.h"

namespace nlk::sql {

// The factory name of the node in Acero's default registry (see RegisterGuardNode).
inline constexpr char kGuardNodeFactory[] = "nlk_guard";

class GuardNodeOptions : public arrow::acero::ExecNodeOptions {
 public:
  explicit GuardNodeOptions(ExecutionGuard guard) : guard(std::move(guard)) {}
  ExecutionGuard guard;
};

// Adds the guard node's factory to Acero's default registry; safe to call any number of times.
arrow::Status RegisterGuardNode();

// Makes every guard node of `plan` fail its next batch: for stopping a plan whose work must end
// although the query itself was not cancelled (a LIMIT has its rows, an error elsewhere).
void StopGuardNodes(arrow::acero::ExecPlan& plan);

}  // namespace nlk::sql
