// The canonical ABI's static layout (component/abi_layout.h), checked against values worked out
// by hand from CanonicalABI.md's definitions (despecialize, alignment, elem_size, flatten_type,
// flatten_functype).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "component/abi_layout.h"

namespace kiln::component::abi {
namespace {

using resolved::DefinedType;
using resolved::ValueType;
using Kind = DefinedType::Kind;

// "f0", "f1", ... (appended: GCC 12 warns falsely on `"f" + std::to_string(i)`).
std::string label(const char* prefix, size_t i) {
  std::string out = prefix;
  out += std::to_string(i);
  return out;
}

ValueType primitive(PrimitiveType p) {
  return ValueType{p, nullptr};
}

ValueType defined(DefinedType t) {
  finish_defined_type(t);
  return ValueType{PrimitiveType::kBool, std::make_shared<const DefinedType>(std::move(t))};
}

ValueType record(std::vector<ValueType> fields) {
  DefinedType t;
  t.kind = Kind::kRecord;
  for (size_t i = 0; i < fields.size(); ++i) t.fields.push_back({label("f", i), fields[i]});
  return defined(std::move(t));
}

ValueType variant(std::vector<std::optional<ValueType>> cases) {
  DefinedType t;
  t.kind = Kind::kVariant;
  for (size_t i = 0; i < cases.size(); ++i) t.cases.push_back({label("c", i), cases[i]});
  return defined(std::move(t));
}

ValueType with_types(Kind kind, std::vector<ValueType> types, uint32_t length = 0) {
  DefinedType t;
  t.kind = kind;
  t.types = std::move(types);
  t.length = length;
  return defined(std::move(t));
}

ValueType flags(size_t count) {
  DefinedType t;
  t.kind = Kind::kFlags;
  for (size_t i = 0; i < count; ++i) t.labels.push_back(label("f", i));
  return defined(std::move(t));
}

std::vector<ValType> flat(const ValueType& t) {
  std::vector<ValType> out;
  EXPECT_TRUE(flatten(t, out, 100));
  return out;
}

const ValueType u8 = primitive(PrimitiveType::kU8);
const ValueType u16 = primitive(PrimitiveType::kU16);
const ValueType u32 = primitive(PrimitiveType::kU32);
const ValueType u64 = primitive(PrimitiveType::kU64);
const ValueType f32 = primitive(PrimitiveType::kF32);
const ValueType f64 = primitive(PrimitiveType::kF64);
const ValueType string = primitive(PrimitiveType::kString);

TEST(AbiLayout, PrimitivesHaveTheirNaturalSizeAndStringsArePointerPairs) {
  EXPECT_EQ(element_size(u8), 1u);
  EXPECT_EQ(element_size(u16), 2u);
  EXPECT_EQ(element_size(primitive(PrimitiveType::kChar)), 4u);
  EXPECT_EQ(element_size(u64), 8u);
  EXPECT_EQ(alignment(u64), 8u);
  EXPECT_EQ(element_size(string), 8u);
  EXPECT_EQ(alignment(string), 4u);
  EXPECT_EQ(element_size(string, PointerSize::k64), 16u);
}

TEST(AbiLayout, RecordsPadFieldsToTheirAlignmentAndTheEndToTheLargest) {
  // {u8, u32, u8}: 0, pad to 4, 4..8, 8, pad to 12.
  const ValueType r = record({u8, u32, u8});
  EXPECT_EQ(alignment(r), 4u);
  EXPECT_EQ(element_size(r), 12u);
  EXPECT_EQ(element_size(record({u8, u16})), 4u);
  EXPECT_EQ(element_size(record({u8, u64})), 16u);
}

TEST(AbiLayout, VariantDiscriminantsGrowWithTheNumberOfCases) {
  EXPECT_EQ(discriminant_size(1), 1u);
  EXPECT_EQ(discriminant_size(256), 1u);
  EXPECT_EQ(discriminant_size(257), 2u);
  EXPECT_EQ(discriminant_size(65536), 2u);
  EXPECT_EQ(discriminant_size(65537), 4u);
  // option<u64>: discriminant at 0, payload aligned to 8: 16 bytes.
  const ValueType o = with_types(Kind::kOption, {u64});
  EXPECT_EQ(alignment(o), 8u);
  EXPECT_EQ(element_size(o), 16u);
  // variant { none, u8 }: 2 bytes.
  EXPECT_EQ(element_size(variant({std::nullopt, u8})), 2u);
  // 300 cases without payload: a 2-byte discriminant.
  std::vector<std::optional<ValueType>> many(300);
  EXPECT_EQ(element_size(variant(many)), 2u);
}

TEST(AbiLayout, FlagsUseTheSmallestIntegerThatHoldsThem) {
  EXPECT_EQ(element_size(flags(8)), 1u);
  EXPECT_EQ(element_size(flags(9)), 2u);
  EXPECT_EQ(element_size(flags(17)), 4u);
  EXPECT_EQ(flat(flags(32)), std::vector<ValType>{ValType::kI32});
}

TEST(AbiLayout, ListsArePointerPairsUnlessTheirLengthIsFixed) {
  EXPECT_EQ(element_size(with_types(Kind::kList, {u64})), 8u);
  EXPECT_EQ(element_size(with_types(Kind::kFixedList, {u16}, 3)), 6u);
  EXPECT_EQ(alignment(with_types(Kind::kFixedList, {u16}, 3)), 2u);
  EXPECT_EQ(flat(with_types(Kind::kFixedList, {u8}, 3)),
            (std::vector<ValType>{ValType::kI32, ValType::kI32, ValType::kI32}));
}

TEST(AbiLayout, VariantPayloadsFlattenToTheirJoin) {
  // result<u32, f32>: i32 discriminant, then join(i32, f32) = i32.
  DefinedType r;
  r.kind = Kind::kResult;
  r.ok = u32;
  r.error = f32;
  EXPECT_EQ(flat(defined(r)), (std::vector<ValType>{ValType::kI32, ValType::kI32}));
  // variant { f32, u64 }: join(f32, i64) = i64.
  EXPECT_EQ(flat(variant({f32, u64})), (std::vector<ValType>{ValType::kI32, ValType::kI64}));
  // variant { f64, tuple<f32, f32> }: join(f64, f32) = i64, then the second f32.
  EXPECT_EQ(flat(variant({f64, with_types(Kind::kTuple, {f32, f32})})),
            (std::vector<ValType>{ValType::kI32, ValType::kI64, ValType::kF32}));
}

TEST(AbiLayout, TheCachedFlatCountIsFlattensLength) {
  DefinedType r;
  r.kind = Kind::kResult;
  r.ok = u32;
  r.error = string;
  for (const ValueType& t :
       {u8, string, defined(r), variant({f64, with_types(Kind::kTuple, {f32, f32})}),
        record({u8, string, with_types(Kind::kFixedList, {u16}, 3)}),
        with_types(Kind::kList, {u64}), flags(9)}) {
    EXPECT_EQ(flat_count(t), flat(t).size()) << resolved::to_wit(t);
  }
  // A fixed list flattening to millions of values is counted without building them.
  EXPECT_EQ(flat_count(with_types(Kind::kFixedList, {string}, 1u << 27)), uint64_t{1} << 28);
}

TEST(AbiLayout, FlatteningStopsAtItsLimit) {
  const ValueType huge = with_types(Kind::kFixedList, {u8}, 1u << 27);
  std::vector<ValType> out;
  EXPECT_FALSE(flatten(huge, out, 17));
  EXPECT_LE(out.size(), 17u);
}

TEST(AbiLayout, FunctionsPassTooManyValuesThroughMemory) {
  resolved::FunctionType f;
  for (int i = 0; i < 16; ++i) f.params.push_back({label("p", i), u32});
  FlatSignature s = flatten_function(f, Context::kLift);
  EXPECT_FALSE(s.params_in_memory);
  EXPECT_EQ(s.core.params.size(), 16u);

  f.params.push_back({"p16", u32});
  s = flatten_function(f, Context::kLift);
  EXPECT_TRUE(s.params_in_memory);
  EXPECT_EQ(s.core.params, std::vector<ValType>{ValType::kI32});

  resolved::FunctionType g;
  g.result = string;  // two flat values: more than MAX_FLAT_RESULTS
  s = flatten_function(g, Context::kLift);
  EXPECT_TRUE(s.results_in_memory);
  EXPECT_EQ(s.core.results, std::vector<ValType>{ValType::kI32});
  s = flatten_function(g, Context::kLower);
  EXPECT_TRUE(s.core.results.empty());
  EXPECT_EQ(s.core.params, std::vector<ValType>{ValType::kI32});  // the return area
}

TEST(AbiLayout, PredicatesLookThroughCompoundTypes) {
  EXPECT_TRUE(contains_string_or_list(record({u8, with_types(Kind::kOption, {string})})));
  EXPECT_FALSE(contains_string_or_list(record({u8, with_types(Kind::kFixedList, {u8}, 2)})));
  DefinedType borrow;
  borrow.kind = Kind::kBorrow;
  EXPECT_TRUE(contains_borrow(with_types(Kind::kTuple, {u8, defined(borrow)})));
  EXPECT_FALSE(contains_borrow(record({u8})));
}

TEST(AbiLayout, SizesSaturateInsteadOfWrapping) {
  // 2^32 elements of 2^28 bytes each: past 2^60, reported as such (validation refuses it).
  const ValueType big = with_types(Kind::kFixedList, {u8}, (1u << 28) - 1);
  const ValueType bigger = with_types(Kind::kFixedList, {big}, 0xffffffffu);
  EXPECT_GT(element_size(bigger), uint64_t{1} << 59);
  const ValueType biggest = with_types(Kind::kFixedList, {bigger}, 0xffffffffu);
  EXPECT_EQ(element_size(biggest), UINT64_MAX);
}

}  // namespace
}  // namespace kiln::component::abi
