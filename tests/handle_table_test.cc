// The handle table (src/services/handle_table.h): forged, stale and
// double-closed handles are refused; on death every handle is released,
// newest first; shared objects outlive the table.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ringfence/module.h"
#include "src/services/handle_table.h"

namespace ringfence::internal {
namespace {

// Records the order in which dead holders let go of it.
class Recorder : public HandleObject {
 public:
  Recorder(int id, std::vector<int>* released) : id_(id), released_(released) {}
  Kind handle_kind() const override { return Kind::kLock; }
  void ReleaseFromDeadHolder(uint32_t owner_id) override {
    EXPECT_EQ(owner_id, 7u);
    released_->push_back(id_);
  }

 private:
  int id_;
  std::vector<int>* released_;
};

TEST(HandleTableTest, ForgedStaleAndDoubleClosedHandlesAreRefused) {
  std::vector<int> released;
  HandleTable table;
  int32_t handle = table.Open(std::make_shared<Recorder>(1, &released));
  ASSERT_GT(handle, 0);
  EXPECT_NE(table.Get(handle, HandleObject::Kind::kLock), nullptr);
  EXPECT_EQ(table.Get(handle, HandleObject::Kind::kRegion), nullptr);  // wrong kind
  for (int32_t forged : {0, -1, handle + 1, handle ^ (1 << 12), INT32_MAX, INT32_MIN}) {
    EXPECT_EQ(table.Get(forged, HandleObject::Kind::kLock), nullptr) << forged;
    EXPECT_EQ(table.Close(forged), RF_EBADHANDLE) << forged;
  }
  EXPECT_EQ(table.Close(handle), RF_OK);
  EXPECT_EQ(table.Close(handle), RF_EBADHANDLE);  // double close
  EXPECT_EQ(table.Get(handle, HandleObject::Kind::kLock), nullptr);
  // The slot is reused under a new generation: the old handle stays stale.
  int32_t reused = table.Open(std::make_shared<Recorder>(2, &released));
  EXPECT_NE(reused, handle);
  EXPECT_EQ(table.Get(handle, HandleObject::Kind::kLock), nullptr);
  EXPECT_NE(table.Get(reused, HandleObject::Kind::kLock), nullptr);
  EXPECT_TRUE(released.empty()) << "closing is not a death";
}

TEST(HandleTableTest, DeathReleasesNewestFirstAndSharedObjectsSurvive) {
  std::vector<int> released;
  HandleTable table;
  auto shared = std::make_shared<Recorder>(1, &released);
  std::vector<int32_t> handles;
  handles.push_back(table.Open(shared));
  for (int id = 2; id <= 5; ++id) handles.push_back(table.Open(std::make_shared<Recorder>(id, &released)));
  // Close one in the middle and open another: opening order, not slot order, counts.
  ASSERT_EQ(table.Close(handles[1]), RF_OK);
  handles.push_back(table.Open(std::make_shared<Recorder>(6, &released)));
  EXPECT_EQ(table.open_count(), 5u);
  table.ReleaseAll(7);
  EXPECT_EQ(released, (std::vector<int>{6, 5, 4, 3, 1}));
  EXPECT_EQ(table.open_count(), 0u);
  for (int32_t handle : handles) EXPECT_EQ(table.Get(handle, HandleObject::Kind::kLock), nullptr);
  EXPECT_EQ(shared.use_count(), 1) << "the table let go; the host's reference remains";
}

TEST(HandleTableTest, TableIsBounded) {
  std::vector<int> released;
  HandleTable table;
  auto object = std::make_shared<Recorder>(1, &released);
  for (uint32_t i = 0; i < HandleTable::kMaxHandles; ++i) ASSERT_GT(table.Open(object), 0);
  EXPECT_EQ(table.Open(object), RF_ETOOMANY);
  EXPECT_EQ(object.use_count(), static_cast<long>(HandleTable::kMaxHandles) + 1);
}

}  // namespace
}  // namespace ringfence::internal
