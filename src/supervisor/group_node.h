// A supervision group: its policies, its children in the order they were
// added (rest_for_one restarts the ones after a dead module), and its
// restart history. Guarded by the Supervisor's mutex.
#ifndef RINGFENCE_SRC_SUPERVISOR_GROUP_NODE_H_
#define RINGFENCE_SRC_SUPERVISOR_GROUP_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "ringfence/supervision_policy.h"
#include "src/supervisor/restart_history.h"

namespace ringfence {
class SupervisedModule;
}

namespace ringfence::internal {

struct GroupNode {
  struct Child {
    GroupNode* group = nullptr;          // either a group ...
    SupervisedModule* module = nullptr;  // ... or a module
  };

  std::string name;  // "" for the root
  GroupOptions options;
  GroupNode* parent = nullptr;
  std::vector<Child> children;
  std::vector<std::unique_ptr<GroupNode>> owned_groups;
  RestartHistory history;
  bool failed = false;

  // Every module in this group and its subgroups, in order.
  void CollectModules(std::vector<SupervisedModule*>* out) const {
    for (const Child& child : children) {
      if (child.module != nullptr) {
        out->push_back(child.module);
      } else {
        child.group->CollectModules(out);
      }
    }
  }
};

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_SUPERVISOR_GROUP_NODE_H_
