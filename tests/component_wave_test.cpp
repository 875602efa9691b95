// WAVE (component/wave.h): values parsed by their type as the wasm-wave README writes them, and
// printed back; calls split into a name and arguments; every malformed input an error naming
// the offset.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "component/abi_layout.h"
#include "component/wave.h"

namespace kiln::component {
namespace {

using resolved::DefinedType;
using resolved::ValueType;
using Kind = DefinedType::Kind;
using VKind = ComponentValue::Kind;

ValueType primitive(PrimitiveType p) {
  return ValueType{p, nullptr};
}

ValueType defined(DefinedType t) {
  abi::finish_defined_type(t);
  return ValueType{PrimitiveType::kBool, std::make_shared<const DefinedType>(std::move(t))};
}

ValueType with_types(Kind kind, std::vector<ValueType> types) {
  DefinedType t;
  t.kind = kind;
  t.types = std::move(types);
  return defined(std::move(t));
}

ValueType labelled(Kind kind, std::vector<std::string> labels) {
  DefinedType t;
  t.kind = kind;
  t.labels = std::move(labels);
  return defined(std::move(t));
}

// record point { x: s32, y: s32, label: option<string> }
ValueType point() {
  DefinedType t;
  t.kind = Kind::kRecord;
  t.fields = {{"x", primitive(PrimitiveType::kS32)},
              {"y", primitive(PrimitiveType::kS32)},
              {"label", with_types(Kind::kOption, {primitive(PrimitiveType::kString)})}};
  return defined(std::move(t));
}

// variant shape { circle(f64), empty, none(u8) } (a case named like a keyword)
ValueType shape() {
  DefinedType t;
  t.kind = Kind::kVariant;
  t.cases = {{"circle", primitive(PrimitiveType::kF64)},
             {"empty", std::nullopt},
             {"none", primitive(PrimitiveType::kU8)}};
  return defined(std::move(t));
}

ValueType result(std::optional<ValueType> ok, std::optional<ValueType> error) {
  DefinedType t;
  t.kind = Kind::kResult;
  t.ok = std::move(ok);
  t.error = std::move(error);
  return defined(std::move(t));
}

// Parses `text` as `type` and prints it back.
std::string round_trip(const std::string& text, const ValueType& type) {
  auto value = parse_wave(text, type);
  if (!value) return "error: " + value.error().message;
  return to_wave(*value, type);
}

std::string parse_error(const std::string& text, const ValueType& type) {
  auto value = parse_wave(text, type);
  EXPECT_FALSE(value.ok()) << text << " was accepted";
  return value.ok() ? "" : value.error().message;
}

TEST(Wave, PrimitivesReadAndPrintAsTheReadmeWritesThem) {
  EXPECT_EQ(round_trip("true", primitive(PrimitiveType::kBool)), "true");
  EXPECT_EQ(round_trip(" false ", primitive(PrimitiveType::kBool)), "false");
  EXPECT_EQ(round_trip("-128", primitive(PrimitiveType::kS8)), "-128");
  EXPECT_EQ(round_trip("255", primitive(PrimitiveType::kU8)), "255");
  EXPECT_EQ(round_trip("18446744073709551615", primitive(PrimitiveType::kU64)),
            "18446744073709551615");
  EXPECT_EQ(round_trip("-9223372036854775808", primitive(PrimitiveType::kS64)),
            "-9223372036854775808");
  EXPECT_EQ(round_trip("3.14", primitive(PrimitiveType::kF64)), "3.14");
  EXPECT_EQ(round_trip("6.022e+23", primitive(PrimitiveType::kF64)), "6.022e+23");
  EXPECT_EQ(round_trip("-inf", primitive(PrimitiveType::kF32)), "-inf");
  EXPECT_EQ(round_trip("nan", primitive(PrimitiveType::kF32)), "nan");
  EXPECT_EQ(round_trip("0.1", primitive(PrimitiveType::kF32)), "0.1");
  EXPECT_EQ(round_trip("'x'", primitive(PrimitiveType::kChar)), "'x'");
  EXPECT_EQ(round_trip("'\\''", primitive(PrimitiveType::kChar)), "'\\''");
  EXPECT_EQ(round_trip("'\\u{1F600}'", primitive(PrimitiveType::kChar)), "'\xF0\x9F\x98\x80'");
  EXPECT_EQ(round_trip("'\\u{0}'", primitive(PrimitiveType::kChar)), "'\\u{0}'");
  EXPECT_EQ(round_trip("\"abc\\t123\\n\\\"q\\\" \\\\\"", primitive(PrimitiveType::kString)),
            "\"abc\\t123\\n\\\"q\\\" \\\\\"");
  auto text = parse_wave("\"h\\u{e9}\"", primitive(PrimitiveType::kString));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->text, "h\xC3\xA9");
}

TEST(Wave, CompoundValues) {
  const ValueType u32 = primitive(PrimitiveType::kU32);
  EXPECT_EQ(round_trip("[1, 2, 3]", with_types(Kind::kList, {u32})), "[1, 2, 3]");
  EXPECT_EQ(round_trip("[1,2,3,]", with_types(Kind::kList, {u32})), "[1, 2, 3]");
  EXPECT_EQ(round_trip("[]", with_types(Kind::kList, {u32})), "[]");
  EXPECT_EQ(round_trip("(\"abc\", 123)",
                       with_types(Kind::kTuple, {primitive(PrimitiveType::kString), u32})),
            "(\"abc\", 123)");
  EXPECT_EQ(round_trip("{x: 1, y: -2, label: some(\"p\")}", point()),
            "{x: 1, y: -2, label: some(\"p\")}");
  // Fields in any order; an option field may be left out (none).
  EXPECT_EQ(round_trip("{ y: 2, x: 1 }", point()), "{x: 1, y: 2, label: none}");
  EXPECT_EQ(round_trip("circle(1.5)", shape()), "circle(1.5)");
  EXPECT_EQ(round_trip("empty", shape()), "empty");
  EXPECT_EQ(round_trip("%none(7)", shape()), "%none(7)");
  const ValueType color = labelled(Kind::kEnum, {"red", "green", "true"});
  EXPECT_EQ(round_trip("green", color), "green");
  EXPECT_EQ(round_trip("%true", color), "%true");
  const ValueType perms = labelled(Kind::kFlags, {"read", "write", "exec"});
  EXPECT_EQ(round_trip("{write, read}", perms), "{read, write}");
  EXPECT_EQ(round_trip("{}", perms), "{}");
  const ValueType maybe = with_types(Kind::kOption, {u32});
  EXPECT_EQ(round_trip("some(3)", maybe), "some(3)");
  EXPECT_EQ(round_trip("none", maybe), "none");
  EXPECT_EQ(round_trip("3", maybe), "some(3)");  // a flat some
  const ValueType outcome = result(u32, primitive(PrimitiveType::kString));
  EXPECT_EQ(round_trip("ok(1)", outcome), "ok(1)");
  EXPECT_EQ(round_trip("err(\"oops\")", outcome), "err(\"oops\")");
  EXPECT_EQ(round_trip("1", outcome), "ok(1)");  // a flat ok
  EXPECT_EQ(round_trip("ok", result(std::nullopt, std::nullopt)), "ok");
  EXPECT_EQ(round_trip("err", result(std::nullopt, std::nullopt)), "err");
  // Comments and line breaks between tokens.
  EXPECT_EQ(round_trip("[1, // one\n 2]", with_types(Kind::kList, {u32})), "[1, 2]");
}

TEST(Wave, ValuesHaveTheKindsTheCanonicalAbiExpects) {
  auto v = parse_wave("{x: 1, y: 2}", point());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, VKind::kRecord);
  ASSERT_EQ(v->items.size(), 3u);
  EXPECT_EQ(v->items[0].kind, VKind::kS32);
  EXPECT_EQ(v->items[2].kind, VKind::kOption);
  EXPECT_EQ(v->items[2].index, 0u);
  auto f = parse_wave("{exec}", labelled(Kind::kFlags, {"read", "write", "exec"}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->bits, 4u);
  auto s = parse_wave("-1", primitive(PrimitiveType::kS16));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(static_cast<int64_t>(s->bits), -1);
}

TEST(Wave, MalformedValuesNameWhatWasExpectedAndWhere) {
  EXPECT_EQ(parse_error("256", primitive(PrimitiveType::kU8)),
            "WAVE value at offset 0: expected a u8, found `256`");
  EXPECT_EQ(parse_error("-1", primitive(PrimitiveType::kU32)),
            "WAVE value at offset 0: expected a u32, found `-1`");
  EXPECT_EQ(parse_error("0x10", primitive(PrimitiveType::kU32)),
            "WAVE value at offset 0: expected a u32, found `0x10`");
  EXPECT_EQ(parse_error("[1, 2", with_types(Kind::kList, {primitive(PrimitiveType::kU8)})),
            "WAVE value at offset 5: expected `,` or `]`, found the end");
  EXPECT_EQ(parse_error("1 2", primitive(PrimitiveType::kU8)),
            "WAVE value at offset 2: expected the end of the value, found `2`");
  EXPECT_NE(parse_error("{x: 1}", point()).find("the field `y` is missing"), std::string::npos);
  EXPECT_NE(parse_error("{x: 1, x: 2, y: 3}", point()).find("each field once"), std::string::npos);
  EXPECT_NE(parse_error("none(7)", shape()).find("the keyword `none` is written `%none`"),
            std::string::npos);
  EXPECT_NE(parse_error("circle", shape()).find("`(` and the payload of `circle`"),
            std::string::npos);
  EXPECT_NE(parse_error("empty(1)", shape()).find("no payload for `empty`"), std::string::npos);
  EXPECT_NE(parse_error("'ab'", primitive(PrimitiveType::kChar)).find("one character"),
            std::string::npos);
  EXPECT_NE(parse_error("'\\u{D800}'", primitive(PrimitiveType::kChar)).find("Unicode scalar"),
            std::string::npos);
  EXPECT_NE(parse_error("\"abc", primitive(PrimitiveType::kString)).find("a closing \""),
            std::string::npos);
  EXPECT_NE(parse_error("\"\xff\"", primitive(PrimitiveType::kString)).find("WAVE value"),
            std::string::npos);
  EXPECT_NE(parse_error("1.5", primitive(PrimitiveType::kS32)).find("expected an s32"),
            std::string::npos);
  EXPECT_NE(parse_error("infinity", primitive(PrimitiveType::kF64)).find("expected an f64"),
            std::string::npos);
  // An option of an option has no flat form.
  EXPECT_NE(
      parse_error("3", with_types(Kind::kOption,
                                  {with_types(Kind::kOption, {primitive(PrimitiveType::kU8)})}))
          .find("`some(...)` or `none`"),
      std::string::npos);
  DefinedType own;
  own.kind = Kind::kOwn;
  EXPECT_NE(parse_error("1", defined(own)).find("has no WAVE form"), std::string::npos);
}

TEST(Wave, CallsSplitIntoNameAndArguments) {
  auto call = split_wave_call("local:app/api#greet(\"kiln\", 3)");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->name, "local:app/api#greet");
  EXPECT_EQ(call->arguments, "\"kiln\", 3");
  auto bare = split_wave_call("run");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->name, "run");
  EXPECT_EQ(bare->arguments, "");
  EXPECT_FALSE(split_wave_call("(1)").ok());
  EXPECT_FALSE(split_wave_call("f(1").ok());

  resolved::FunctionType type;
  type.params = {{"name", primitive(PrimitiveType::kString)}, {"n", primitive(PrimitiveType::kU8)}};
  auto args = parse_wave_arguments(*call, type);
  ASSERT_TRUE(args.ok()) << args.error().message;
  ASSERT_EQ(args->size(), 2u);
  EXPECT_EQ((*args)[0].text, "kiln");
  EXPECT_EQ((*args)[1].bits, 3u);
  // Offsets in errors count from the start of the whole call.
  auto bad = split_wave_call("f(\"a\", 300)");
  ASSERT_TRUE(bad.ok());
  auto refused = parse_wave_arguments(*bad, type);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "WAVE value at offset 7: expected a u8, found `300)`");
  auto few = split_wave_call("f(\"a\")");
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(parse_wave_arguments(*few, type).error().message, "`f` takes 2 arguments, given 1");
}

}  // namespace
}  // namespace kiln::component
