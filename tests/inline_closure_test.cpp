// InlineClosure holds the code generator's out-of-line stubs: each must run its own capture,
// survive the vector's growth (moves), and release what it captured exactly once.
#include "compiler/inline_closure.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

namespace kiln::jit {
namespace {

TEST(InlineClosure, RunsItsOwnCaptureAcrossMovesAndReleasesItOnce) {
  auto shared = std::make_shared<int>(0);
  std::vector<int> order;
  {
    std::vector<InlineClosure> closures;
    for (int i = 0; i < 100; ++i) {  // grows (moves every closure) several times
      const std::array<int64_t, 8> payload = {i, i, i, i, i, i, i, i};
      closures.push_back([shared, payload, &order] {
        ++*shared;
        order.push_back(static_cast<int>(payload[7]));
      });
    }
    EXPECT_EQ(shared.use_count(), 101);  // one per closure: the moves left none behind
    for (InlineClosure& c : closures) c();
  }
  EXPECT_EQ(shared.use_count(), 1);  // each destroyed once
  EXPECT_EQ(*shared, 100);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace kiln::jit
