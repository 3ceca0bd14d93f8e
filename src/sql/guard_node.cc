#include "sql/guard_node.h"

#include <arrow/acero/map_node.h>
#include <arrow/util/checked_cast.h>

#include <atomic>
#include <mutex>

namespace nlk::sql {
namespace {

namespace acero = arrow::acero;

class GuardNode : public acero::MapNode {
 public:
  GuardNode(acero::ExecPlan* plan, std::vector<acero::ExecNode*> inputs, ExecutionGuard guard)
      : MapNode(plan, inputs, inputs[0]->output_schema()), guard_(std::move(guard)) {}

  static arrow::Result<acero::ExecNode*> Make(acero::ExecPlan* plan,
                                              std::vector<acero::ExecNode*> inputs,
                                              const acero::ExecNodeOptions& options) {
    RETURN_NOT_OK(acero::ValidateExecNodeInputs(plan, inputs, 1, kGuardNodeFactory));
    const auto& guard_options = arrow::internal::checked_cast<const GuardNodeOptions&>(options);
    return plan->EmplaceNode<GuardNode>(plan, std::move(inputs), guard_options.guard);
  }

  const char* kind_name() const override { return "GuardNode"; }

  void Stop() { stopped_.store(true, std::memory_order_relaxed); }

 protected:
  arrow::Result<arrow::compute::ExecBatch> ProcessBatch(arrow::compute::ExecBatch batch) override {
    if (stopped_.load(std::memory_order_relaxed)) {
      return arrow::Status::Cancelled("the query's plan was stopped");
    }
    ARROW_RETURN_NOT_OK(guard_.Check());
    return batch;
  }

 private:
  const ExecutionGuard guard_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

arrow::Status RegisterGuardNode() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] {
    status = acero::default_exec_factory_registry()->AddFactory(kGuardNodeFactory, GuardNode::Make);
  });
  return status;
}

void StopGuardNodes(acero::ExecPlan& plan) {
  for (acero::ExecNode* node : plan.nodes()) {
    if (auto* guard = dynamic_cast<GuardNode*>(node)) guard->Stop();
  }
}

}  // namespace nlk::sql
