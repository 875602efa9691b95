#include "runtime/module_decoder.h"

#include <cstring>

#include "runtime/binary_reader.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {
namespace {

enum SectionId : uint8_t {
  kCustomSection = 0,
  kTypeSection = 1,
  kImportSection = 2,
  kFunctionSection = 3,
  kTableSection = 4,
  kMemorySection = 5,
  kGlobalSection = 6,
  kExportSection = 7,
  kStartSection = 8,
  kElementSection = 9,
  kCodeSection = 10,
  kDataSection = 11,
  kDataCountSection = 12,
  kTagSection = 13,  // Wasm 3.0 exception handling
};

const char* section_name(uint8_t id) {
  static const char* const names[] = {"custom", "type",   "import",     "function", "table",
                                      "memory", "global", "export",     "start",    "element",
                                      "code",   "data",   "data count", "tag"};
  return id < 14 ? names[id] : "unknown";
}

// Sections must appear in this order (spec 5.5.2); data count sits between element and code,
// and the tag section between memory and global.
int section_rank(uint8_t id) {
  static const int ranks[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return ranks[id];
}

// Prefixes decoding errors with the section (and item) they happened in.
Error in_section(Error error, uint8_t section, std::optional<uint32_t> item = std::nullopt) {
  std::string where = std::string("in ") + section_name(section) + " section";
  if (item) where += ", item " + std::to_string(*item);
  error.message = where + ": " + error.message;
  return error;
}

Result<Limits> read_limits(BinaryReader& r, bool is_memory) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t flags, r.read_byte());
  Limits limits;
  if (flags > 1) {
    return BinaryReader::malformed_at(is_memory ? "integer too large" : "integer too large", at);
  }
  KILN_ASSIGN(uint32_t min, r.read_u32());
  limits.min = min;
  if (flags == 1) {
    KILN_ASSIGN(uint32_t max, r.read_u32());
    limits.max = max;
  }
  return limits;
}

Result<TableType> read_table_type(BinaryReader& r) {
  TableType t;
  KILN_SET(t.element, read_reference_type(r));
  KILN_SET(t.limits, read_limits(r, false));
  return t;
}

Result<GlobalType> read_global_type(BinaryReader& r) {
  GlobalType g;
  KILN_SET(g.type, read_value_type(r));
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t mut, r.read_byte());
  if (mut > 1) return BinaryReader::malformed_at("malformed mutability", at);
  g.mutable_ = mut == 1;
  return g;
}

Result<uint32_t> read_count(BinaryReader& r, uint32_t limit, const char* what) {
  size_t at = r.offset();
  KILN_ASSIGN(uint32_t n, r.read_u32());
  if (n > limit) {
    return Error{ErrorKind::kLimit, std::string("too many ") + what + " (" + std::to_string(n) +
                                        ", at byte offset " + hex_offset(at) + ")"};
  }
  // Each item takes at least one byte: a larger count cannot fit in what is left.
  if (n > r.remaining()) return BinaryReader::malformed_at("unexpected end", at);
  return n;
}

}  // namespace

Result<FuncType> read_function_type(BinaryReader& r) {
  FuncType type;
  KILN_ASSIGN(uint32_t np, read_count(r, ModuleLimits::kMaxParams, "parameters"));
  for (uint32_t k = 0; k < np; ++k) {
    KILN_ASSIGN(ValType t, read_value_type(r));
    type.params.push_back(t);
  }
  KILN_ASSIGN(uint32_t nr, read_count(r, ModuleLimits::kMaxResults, "results"));
  for (uint32_t k = 0; k < nr; ++k) {
    KILN_ASSIGN(ValType t, read_value_type(r));
    type.results.push_back(t);
  }
  return type;
}

Result<uint32_t> read_tag_type(BinaryReader& r) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t attribute, r.read_byte());
  // Spec 5.5.7 (tagtype): attribute 0, "exception", is the only one.
  if (attribute != 0) return BinaryReader::malformed_at("malformed tag attribute", at);
  return r.read_u32();
}

Result<void> read_import_description(BinaryReader& r, Import& imp) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t kind, r.read_byte());
  switch (kind) {
    case 0:
      imp.kind = ExternKind::kFunction;
      KILN_SET(imp.type_index, r.read_u32());
      return {};
    case 1:
      imp.kind = ExternKind::kTable;
      KILN_SET(imp.table, read_table_type(r));
      return {};
    case 2:
      imp.kind = ExternKind::kMemory;
      KILN_SET(imp.memory.limits, read_limits(r, true));
      return {};
    case 3:
      imp.kind = ExternKind::kGlobal;
      KILN_SET(imp.global, read_global_type(r));
      return {};
    case 4:
      imp.kind = ExternKind::kTag;
      KILN_SET(imp.type_index, read_tag_type(r));
      return {};
    default:
      return BinaryReader::malformed_at("malformed import kind", at);
  }
}

namespace {

Result<void> read_type_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxTypes, "types"));
  for (uint32_t i = 0; i < n; ++i) {
    size_t at = r.offset();
    auto item = [&]() -> Result<void> {
      KILN_ASSIGN(uint8_t form, r.read_byte());
      if (form != 0x60) return BinaryReader::malformed_at("malformed function type", at);
      KILN_ASSIGN(FuncType type, read_function_type(r));
      m.types.push_back(std::move(type));
      return {};
    }();
    if (!item) return in_section(item.take_error(), kTypeSection, i);
  }
  return {};
}

Result<void> read_import_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxImports, "imports"));
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      Import imp;
      KILN_SET(imp.module, r.read_name());
      KILN_SET(imp.name, r.read_name());
      KILN_TRY(read_import_description(r, imp));
      switch (imp.kind) {
        case ExternKind::kFunction:
          m.functions.push_back(imp.type_index);
          ++m.imported_functions;
          break;
        case ExternKind::kTable:
          m.tables.push_back(imp.table);
          ++m.imported_tables;
          break;
        case ExternKind::kMemory:
          m.memories.push_back(imp.memory);
          ++m.imported_memories;
          break;
        case ExternKind::kGlobal:
          m.globals.push_back(Global{imp.global, {}});
          ++m.imported_globals;
          break;
        case ExternKind::kTag:
          m.tags.push_back(imp.type_index);
          ++m.imported_tags;
          break;
      }
      m.imports.push_back(std::move(imp));
      return {};
    }();
    if (!item) return in_section(item.take_error(), kImportSection, i);
  }
  return {};
}

Result<void> read_function_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxFunctions, "functions"));
  for (uint32_t i = 0; i < n; ++i) {
    auto type_index = r.read_u32();
    if (!type_index) return in_section(type_index.take_error(), kFunctionSection, i);
    m.functions.push_back(*type_index);
  }
  return {};
}

Result<void> read_table_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxSegments, "tables"));
  for (uint32_t i = 0; i < n; ++i) {
    auto t = read_table_type(r);
    if (!t) return in_section(t.take_error(), kTableSection, i);
    m.tables.push_back(*t);
  }
  return {};
}

Result<void> read_memory_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxSegments, "memories"));
  for (uint32_t i = 0; i < n; ++i) {
    auto limits = read_limits(r, true);
    if (!limits) return in_section(limits.take_error(), kMemorySection, i);
    m.memories.push_back(MemoryType{*limits});
  }
  return {};
}

Result<void> read_tag_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxSegments, "tags"));
  for (uint32_t i = 0; i < n; ++i) {
    auto type_index = read_tag_type(r);
    if (!type_index) return in_section(type_index.take_error(), kTagSection, i);
    m.tags.push_back(*type_index);
  }
  return {};
}

Result<void> read_global_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxGlobals, "globals"));
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      Global g;
      KILN_SET(g.type, read_global_type(r));
      KILN_SET(g.init, read_const_expr(r));
      m.globals.push_back(std::move(g));
      return {};
    }();
    if (!item) return in_section(item.take_error(), kGlobalSection, i);
  }
  return {};
}

Result<void> read_export_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxExports, "exports"));
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      Export e;
      KILN_SET(e.name, r.read_name());
      size_t at = r.offset();
      KILN_ASSIGN(uint8_t kind, r.read_byte());
      if (kind > 4) return BinaryReader::malformed_at("malformed export kind", at);
      e.kind = static_cast<ExternKind>(kind);
      KILN_SET(e.index, r.read_u32());
      m.exports.push_back(std::move(e));
      return {};
    }();
    if (!item) return in_section(item.take_error(), kExportSection, i);
  }
  return {};
}

Result<uint8_t> read_elemkind(BinaryReader& r) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t kind, r.read_byte());
  if (kind != 0x00) return BinaryReader::malformed_at("malformed element kind", at);
  return kind;
}

Result<void> read_element_section(BinaryReader& r, Module& m) {
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxSegments, "element segments"));
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      ElementSegment seg;
      size_t at = r.offset();
      KILN_ASSIGN(uint32_t flags, r.read_u32());
      if (flags > 7) return BinaryReader::malformed_at("malformed elements segment kind", at);
      // Bit 0: passive or declarative; bit 1: explicit table index (active) or declarative;
      // bit 2: items are expressions rather than function indices (spec 5.5.12).
      const bool not_active = flags & 1;
      const bool has_table_or_declarative = flags & 2;
      const bool uses_exprs = flags & 4;
      if (not_active) {
        seg.mode = has_table_or_declarative ? SegmentMode::kDeclarative : SegmentMode::kPassive;
      } else {
        seg.mode = SegmentMode::kActive;
        if (has_table_or_declarative) KILN_SET(seg.table_index, r.read_u32());
        KILN_SET(seg.offset, read_const_expr(r));
      }
      if (not_active || has_table_or_declarative) {
        if (uses_exprs) {
          KILN_SET(seg.type, read_reference_type(r));
        } else {
          KILN_TRY(read_elemkind(r));
        }
      }
      KILN_ASSIGN(uint32_t count, read_count(r, ModuleLimits::kMaxTableSize, "elements"));
      seg.items.reserve(count);
      for (uint32_t k = 0; k < count; ++k) {
        if (uses_exprs) {
          KILN_ASSIGN(ConstExpr e, read_const_expr(r));
          seg.items.push_back(std::move(e));
        } else {
          ConstExpr e;
          ConstInstr ins;
          ins.opcode = kRefFunc;
          KILN_SET(ins.index, r.read_u32());
          e.instrs.push_back(ins);
          seg.items.push_back(std::move(e));
        }
      }
      m.elements.push_back(std::move(seg));
      return {};
    }();
    if (!item) return in_section(item.take_error(), kElementSection, i);
  }
  return {};
}

Result<void> read_code_section(BinaryReader& r, Module& m) {
  size_t at = r.offset();
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxFunctions, "function bodies"));
  if (n != m.functions.size() - m.imported_functions) {
    return BinaryReader::malformed_at("function and code section have inconsistent lengths", at);
  }
  uint64_t module_locals = 0;
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      KILN_ASSIGN(uint32_t size, r.read_u32());
      KILN_ASSIGN(BinaryReader body, r.read_sub_reader(size));
      FunctionBody fb;
      KILN_ASSIGN(uint32_t groups, body.read_u32());
      uint64_t total = 0;
      size_t limit_at = 0;  // where kiln's own limits were first passed, if they were
      for (uint32_t g = 0; g < groups; ++g) {
        size_t count_at = body.offset();
        KILN_ASSIGN(uint32_t count, body.read_u32());
        total += count;
        if (!limit_at && (total > ModuleLimits::kMaxLocals ||
                          module_locals + total > ModuleLimits::kMaxModuleLocals)) {
          limit_at = count_at;
        }
        KILN_ASSIGN(ValType t, read_value_type(body));
        if (count && !limit_at) fb.locals.push_back(LocalDecl{count, t});
      }
      // Spec 5.5.13: a total past u32 is malformed. Below that, kiln's own limits per function
      // and per module are implementation limits.
      if (total > UINT32_MAX) {
        return Error{ErrorKind::kMalformed,
                     "too many locals (at byte offset " + hex_offset(limit_at) + ")"};
      }
      if (limit_at) {
        const bool per_function = total > ModuleLimits::kMaxLocals;
        return Error{
            ErrorKind::kLimit,
            "too many locals: more than " +
                (per_function ? std::to_string(ModuleLimits::kMaxLocals) + " in one function"
                              : std::to_string(ModuleLimits::kMaxModuleLocals) + " in the module") +
                " (at byte offset " + hex_offset(limit_at) + ")"};
      }
      module_locals += total;
      fb.code_offset = body.offset();
      KILN_SET(fb.code, body.read_bytes(body.remaining()));
      m.bodies.push_back(std::move(fb));
      return {};
    }();
    if (!item) {
      Error e = item.take_error();
      e.message = "function " + std::to_string(m.imported_functions + i) + ": " + e.message;
      return in_section(std::move(e), kCodeSection);
    }
  }
  return {};
}

Result<void> read_data_section(BinaryReader& r, Module& m) {
  size_t at = r.offset();
  KILN_ASSIGN(uint32_t n, read_count(r, ModuleLimits::kMaxSegments, "data segments"));
  if (m.data_count && *m.data_count != n) {
    return BinaryReader::malformed_at("data count and data section have inconsistent lengths", at);
  }
  for (uint32_t i = 0; i < n; ++i) {
    auto item = [&]() -> Result<void> {
      DataSegment seg;
      size_t flags_at = r.offset();
      KILN_ASSIGN(uint32_t flags, r.read_u32());
      switch (flags) {
        case 0:
          seg.mode = SegmentMode::kActive;
          KILN_SET(seg.offset, read_const_expr(r));
          break;
        case 1:
          seg.mode = SegmentMode::kPassive;
          break;
        case 2:
          seg.mode = SegmentMode::kActive;
          KILN_SET(seg.memory_index, r.read_u32());
          KILN_SET(seg.offset, read_const_expr(r));
          break;
        default:
          return BinaryReader::malformed_at("malformed data segment kind", flags_at);
      }
      KILN_ASSIGN(uint32_t size, r.read_u32());
      if (size > r.remaining()) return r.malformed("unexpected end of section or function");
      KILN_SET(seg.bytes, r.read_bytes(size));
      m.data.push_back(seg);
      return {};
    }();
    if (!item) return in_section(item.take_error(), kDataSection, i);
  }
  return {};
}

}  // namespace

// Name section subsections (appendix 7.4.1). Errors here never invalidate the module: custom
// section contents are not validated, so a broken name section is ignored as a whole.
NameSection decode_name_section(std::span<const uint8_t> bytes, size_t offset) {
  BinaryReader r(bytes, offset);
  NameSection names;
  auto parse = [&]() -> Result<void> {
    while (!r.at_end()) {
      KILN_ASSIGN(uint8_t id, r.read_byte());
      KILN_ASSIGN(uint32_t size, r.read_u32());
      KILN_ASSIGN(BinaryReader sub, r.read_sub_reader(size));
      if (id == 0) {
        KILN_SET(names.module_name, sub.read_name());
      } else if (id == 1) {
        KILN_ASSIGN(uint32_t n, sub.read_u32());
        if (n > sub.remaining()) return sub.malformed("unexpected end");
        names.functions.reserve(n);
        for (uint32_t i = 0; i < n; ++i) {
          KILN_ASSIGN(uint32_t index, sub.read_u32());
          KILN_ASSIGN(std::string_view name, sub.read_name_view());
          names.functions.emplace_back(index, name);
        }
        // Appendix 7.4.1 asks for increasing indices, but tools write maps out of order (the
        // WASI preview1 adapter's, from wit-component): sorted here for function_name's search,
        // the last of equal indices kept.
        std::stable_sort(names.functions.begin(), names.functions.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        size_t kept = 0;
        for (size_t k = 0; k < names.functions.size(); ++k) {
          if (k + 1 < names.functions.size() &&
              names.functions[k + 1].first == names.functions[k].first) {
            continue;
          }
          names.functions[kept++] = names.functions[k];
        }
        names.functions.resize(kept);
      } else if (id == 2) {
        // Local names: nothing in kiln shows them yet, but a broken map still breaks the
        // section as a whole, as before.
        KILN_ASSIGN(uint32_t n, sub.read_u32());
        for (uint32_t i = 0; i < n; ++i) {
          KILN_TRY(sub.read_u32());
          KILN_ASSIGN(uint32_t count, sub.read_u32());
          for (uint32_t k = 0; k < count; ++k) {
            KILN_TRY(sub.read_u32());
            KILN_TRY(sub.read_name_view());
          }
        }
      }
    }
    return {};
  };
  if (!parse()) return NameSection{};
  return names;
}

Result<ValType> read_value_type(BinaryReader& r) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t byte, r.read_byte());
  auto t = valtype_from_byte(byte);
  if (!t) return BinaryReader::malformed_at("malformed value type", at);
  return *t;
}

Result<ValType> read_reference_type(BinaryReader& r) {
  size_t at = r.offset();
  KILN_ASSIGN(uint8_t byte, r.read_byte());
  if (byte != 0x70 && byte != 0x6f && byte != 0x69)
    return BinaryReader::malformed_at("malformed reference type", at);
  return static_cast<ValType>(byte);
}

Result<ConstExpr> read_const_expr(BinaryReader& r) {
  ConstExpr expr;
  for (;;) {
    size_t at = r.offset();
    KILN_ASSIGN(uint8_t op, r.read_byte());
    ConstInstr ins;
    ins.opcode = op;
    switch (op) {
      case kEnd:
        return expr;
      case kI32Const: {
        KILN_ASSIGN(int32_t v, r.read_s32());
        ins.bits = static_cast<uint32_t>(v);
        break;
      }
      case kI64Const: {
        KILN_ASSIGN(int64_t v, r.read_s64());
        ins.bits = static_cast<uint64_t>(v);
        break;
      }
      case kF32Const: {
        KILN_SET(ins.bits, r.read_fixed_u32());
        break;
      }
      case kF64Const: {
        KILN_SET(ins.bits, r.read_fixed_u64());
        break;
      }
      case kPrefixFD: {
        KILN_ASSIGN(uint32_t sub, r.read_u32());
        if (prefixed(kPrefixFD, sub) != kV128Const) {
          return Error{ErrorKind::kInvalid,
                       "constant expression required (at byte offset " + hex_offset(at) + ")"};
        }
        ins.opcode = kV128Const;
        KILN_SET(ins.bits, r.read_fixed_u64());
        KILN_SET(ins.bits_hi, r.read_fixed_u64());
        break;
      }
      case kRefNull: {
        KILN_SET(ins.type, read_reference_type(r));
        break;
      }
      case kRefFunc:
      case kGlobalGet: {
        KILN_SET(ins.index, r.read_u32());
        break;
      }
#define KILN_CONSTANT_OPERATOR(name, opcode, result, operand, expression) case opcode:
        KILN_CONSTANT_OPS(KILN_CONSTANT_OPERATOR)
#undef KILN_CONSTANT_OPERATOR
        break;  // extended-const: no immediates
      default:
        // Any other instruction is well-formed code but not constant (spec 3.3.10); we cannot
        // skip it without decoding it, and the module is rejected either way.
        return Error{ErrorKind::kInvalid,
                     "constant expression required (at byte offset " + hex_offset(at) + ")"};
    }
    expr.instrs.push_back(ins);
  }
}

Result<void> decode_module(Module& m) {
  BinaryReader r(m.bytes);
  auto magic = r.read_fixed_u32();
  if (!magic) return BinaryReader::malformed_at("unexpected end: no magic header", 0);
  if (*magic != 0x6d736100) return BinaryReader::malformed_at("magic header not detected", 0);
  auto version = r.read_fixed_u32();
  if (!version) return BinaryReader::malformed_at("unexpected end", 4);
  if (*version != 1) return BinaryReader::malformed_at("unknown binary version", 4);

  int last_rank = 0;
  bool saw_function_section = false;
  while (!r.at_end()) {
    size_t section_at = r.offset();
    KILN_ASSIGN(uint8_t id, r.read_byte());
    if (id > kTagSection) return BinaryReader::malformed_at("malformed section id", section_at);
    auto size = r.read_u32();
    if (!size) return in_section(size.take_error(), id);
    if (*size > r.remaining()) {
      return in_section(r.malformed("length out of bounds"), id);
    }
    KILN_ASSIGN(BinaryReader s, r.read_sub_reader(*size));
    if (id != kCustomSection) {
      int rank = section_rank(id);
      if (rank <= last_rank) {
        return in_section(
            BinaryReader::malformed_at("unexpected content after last section", section_at), id);
      }
      last_rank = rank;
    }
    Result<void> result;
    switch (id) {
      case kCustomSection: {
        auto name = s.read_name();
        if (!name) return in_section(name.take_error(), id);
        auto rest = s.read_bytes(s.remaining());
        m.custom_sections.push_back(CustomSection{*name, *rest});
        if (*name == "name") {  // decoded at its first use (Module::names)
          m.name_section = *rest;
          m.name_section_offset = s.offset() - rest->size();
        }
        break;
      }
      case kTypeSection:
        result = read_type_section(s, m);
        break;
      case kImportSection:
        result = read_import_section(s, m);
        break;
      case kFunctionSection:
        result = read_function_section(s, m);
        saw_function_section = true;
        break;
      case kTableSection:
        result = read_table_section(s, m);
        break;
      case kMemorySection:
        result = read_memory_section(s, m);
        break;
      case kGlobalSection:
        result = read_global_section(s, m);
        break;
      case kExportSection:
        result = read_export_section(s, m);
        break;
      case kStartSection: {
        auto start = s.read_u32();
        if (!start) return in_section(start.take_error(), id);
        m.start = *start;
        break;
      }
      case kElementSection:
        result = read_element_section(s, m);
        break;
      case kCodeSection:
        result = read_code_section(s, m);
        break;
      case kDataSection:
        result = read_data_section(s, m);
        break;
      case kTagSection:
        result = read_tag_section(s, m);
        break;
      case kDataCountSection: {
        auto count = s.read_u32();
        if (!count) return in_section(count.take_error(), id);
        m.data_count = *count;
        break;
      }
    }
    if (!result) return result;
    if (!s.at_end()) {
      return in_section(s.malformed("section size mismatch"), id);
    }
  }
  (void)saw_function_section;
  if (m.bodies.size() != m.functions.size() - m.imported_functions) {
    return BinaryReader::malformed_at("function and code section have inconsistent lengths",
                                      r.offset());
  }
  if (m.data_count && *m.data_count != m.data.size()) {
    return BinaryReader::malformed_at("data count and data section have inconsistent lengths",
                                      r.offset());
  }
  return {};
}

}  // namespace kiln
