// call_indirect through a table that two instances share and either grows, under each tier.
// Generated code reads table 0's bounds, elements and call_indirect cache from a copy in each
// instance's VM context (VmContext::table0), and the callee's entry from the cache
// (TableHeader::dispatch): the copies must follow the table, the cache the table's writes.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/interpreter_code.h"
#include "runtime/module.h"
#include "runtime/store.h"
#include "runtime/tier.h"
#include "tests/test_support.h"

namespace kiln {
namespace {

class SharedTable : public test::TierTest {
 protected:
  void SetUp() override {
    start_engine();
    if (IsSkipped()) return;
    owner_ = test::instantiate_test_module(*store_, "table_owner");
    ASSERT_NE(owner_, nullptr);
    user_ = test::instantiate_test_module(*store_, "table_user", {*owner_->find_export("table")});
    ASSERT_NE(user_, nullptr);
  }

  // `name` of `instance` with i32 arguments: its i32 result, or the trap's message.
  std::string call(Instance* instance, const std::string& name, std::vector<uint64_t> args) {
    args.resize(2);
    TrapPtr trap = store_->invoke(instance->find_export(name)->function(), args.data());
    if (trap) return trap->message;
    return std::to_string(static_cast<uint32_t>(args[0]));
  }

  // Each instance's copy of the table's header (what generated code reads) is the table's.
  void expect_copies_follow_the_table() {
    const TableInstance& table = *owner_->tables[0];
    for (Instance* instance : {owner_, user_}) {
      EXPECT_EQ(instance->vm.table0.element_data, table.elements.data());
      EXPECT_EQ(instance->vm.table0.element_count, table.elements.size());
    }
  }

  Instance* owner_ = nullptr;
  Instance* user_ = nullptr;
};

TEST_P(SharedTable, BothInstancesCallThroughElementsEitherOneAdded) {
  // Before any growth: element 0 is the owner's, element 1 is null, 2 is past the end.
  expect_copies_follow_the_table();
  for (Instance* instance : {owner_, user_}) {
    EXPECT_EQ(call(instance, "call", {0}), "7");
    EXPECT_EQ(call(instance, "call", {1}), "uninitialized element 1");
    EXPECT_EQ(call(instance, "call", {2}), "undefined element 2");
  }
  // The user grows the shared table and puts its own function at 3: the owner sees it too,
  // and the user calls it again and again (its entry known after the first call).
  EXPECT_EQ(call(user_, "grow_and_set", {2, 3}), "2");
  expect_copies_follow_the_table();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(user_, "call", {3}), "8");
    EXPECT_EQ(call(owner_, "call", {3}), "8");
  }
  if (GetParam() == Tier::kJit) {  // the user's $eight: generated code calls it directly now
    const FunctionInstance& eight = *user_->functions[0];
    const DispatchCache& cache = *owner_->tables[0]->dispatch;
    EXPECT_EQ(cache.functions[3], &eight);
    EXPECT_NE(cache.entries[3], nullptr);
    EXPECT_EQ(cache.entries[3], eight.code->native_entry.load());
  }
  EXPECT_EQ(call(user_, "call", {2}), "uninitialized element 2");
  EXPECT_EQ(call(owner_, "call", {4}), "undefined element 4");
  // The owner grows it far (the elements move) and puts its function at the end.
  EXPECT_EQ(call(owner_, "grow_and_set", {1000, 1003}), "4");
  expect_copies_follow_the_table();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(user_, "call", {1003}), "7");
    EXPECT_EQ(call(owner_, "call", {1003}), "7");
    EXPECT_EQ(call(user_, "call", {3}), "8");
  }
  EXPECT_EQ(call(user_, "call", {1004}), "undefined element 1004");
  // Growth refused (past the maximum element count): nothing changes.
  EXPECT_EQ(call(user_, "grow_and_set", {0xffffffff, 0}), "4294967295");
  EXPECT_EQ(call(owner_, "call", {0}), "8");  // table.set ran at 0 after the refused grow
  expect_copies_follow_the_table();
}

// Generated code takes the callee's machine code from the table's call_indirect cache, one
// entry per 256 elements' worth of indices (TableHeader::dispatch): an entry is used only for the
// function it names, whatever was written to the table since, and by no other instance.
TEST_P(SharedTable, TheCallIndirectCacheFollowsTableWrites) {
  EXPECT_EQ(call(owner_, "grow_and_set", {1000, 1001}), "2");
  const uint64_t same_entry = 3 + kDispatchEntries;  // shares element 3's cache entry
  call(user_, "set", {3, 1});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(user_, "call", {3}), "8");
  call(user_, "set", {3, 0});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(user_, "call", {3}), "9");
  call(user_, "set", {same_entry, 1});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(user_, "call", {3}), "9");
    EXPECT_EQ(call(user_, "call", {same_entry}), "8");
    EXPECT_EQ(call(owner_, "call", {3}), "9");  // the user's function, from the owner
    EXPECT_EQ(call(owner_, "call", {1001}), "7");
  }
  call(user_, "set", {3, 1});
  EXPECT_EQ(call(user_, "call", {3}), "8");
  const TableInstance& table = *owner_->tables[0];
  if (GetParam() == Tier::kJit) {  // the table has a cache of its own now, and both copies see it
    EXPECT_NE(table.dispatch, &kEmptyDispatch);
  }
  expect_copies_follow_the_table();
  EXPECT_EQ(owner_->vm.table0.dispatch, table.dispatch);
  EXPECT_EQ(user_->vm.table0.dispatch, table.dispatch);
}

INSTANTIATE_TEST_SUITE_P(Tiers, SharedTable, ::testing::Values(Tier::kInterpreter, Tier::kJit),
                         test::TierTest::tier_name);

}  // namespace
}  // namespace kiln
