// Module-level validation (spec 3.4): everything except function bodies.
#include <unordered_set>

#include "runtime/binary_reader.h"
#include "runtime/function_validator.h"
#include "runtime/opcodes.h"
#include "runtime/simd_ops.h"

namespace kiln {
namespace {

Error invalid(const std::string& message) {
  return Error{ErrorKind::kInvalid, message};
}

// Spec 3.4.x "limits": min <= max, and both within `range`.
Result<void> validate_limits(const Limits& limits, uint64_t range, const char* too_large,
                             const std::string& where) {
  if (limits.min > range || (limits.max && *limits.max > range)) {
    return invalid(std::string(too_large) + " (" + where + ")");
  }
  if (limits.max && limits.min > *limits.max) {
    return invalid("size minimum must not be greater than maximum (" + where + ")");
  }
  return {};
}

// Spec 3.3.10: a constant expression produces exactly one value of `expected`. In Wasm 2.0,
// global.get may only read imported, immutable globals (`visible_globals` of them).
Result<void> validate_const_expr(const Module& m, const ConstExpr& expr, ValType expected,
                                 uint32_t visible_globals, const std::string& where) {
  std::vector<ValType> stack;
  for (const ConstInstr& ins : expr.instrs) {
    switch (ins.opcode) {
      case kI32Const:
        stack.push_back(ValType::kI32);
        break;
      case kI64Const:
        stack.push_back(ValType::kI64);
        break;
      case kF32Const:
        stack.push_back(ValType::kF32);
        break;
      case kF64Const:
        stack.push_back(ValType::kF64);
        break;
      case kV128Const:
        stack.push_back(ValType::kV128);
        break;
      case kRefNull:
        stack.push_back(ins.type);
        break;
      case kRefFunc:
        if (ins.index >= m.functions.size()) {
          return invalid("unknown function " + std::to_string(ins.index) + " (" + where + ")");
        }
        stack.push_back(ValType::kFuncRef);
        break;
      case kGlobalGet: {
        if (ins.index >= visible_globals) {
          return invalid("unknown global " + std::to_string(ins.index) + " (" + where + ")");
        }
        const GlobalType& g = m.globals[ins.index].type;
        if (g.mutable_) return invalid("constant expression required (" + where + ")");
        stack.push_back(g.type);
        break;
      }
#define KILN_CONSTANT_OPERATOR(name, opcode, result, operand, expression)                    \
  case opcode:                                                                               \
    if (stack.size() < 2 || stack[stack.size() - 1] != KILN_VT(operand) ||                   \
        stack[stack.size() - 2] != KILN_VT(operand)) {                                       \
      return invalid("type mismatch: " #name " in a constant expression needs two " #operand \
                     " operands (" +                                                         \
                     where + ")");                                                           \
    }                                                                                        \
    stack.pop_back();                                                                        \
    break;
        KILN_CONSTANT_OPS(KILN_CONSTANT_OPERATOR)
#undef KILN_CONSTANT_OPERATOR
      default:
        return invalid("constant expression required (" + where + ")");
    }
  }
  if (stack.size() != 1 || stack[0] != expected) {
    return invalid(std::string("type mismatch: constant expression must produce one ") +
                   valtype_name(expected) + " (" + where + ")");
  }
  return {};
}

void collect_function_refs(const ConstExpr& expr, std::vector<bool>& refs) {
  for (const ConstInstr& ins : expr.instrs) {
    if (ins.opcode == kRefFunc && ins.index < refs.size()) refs[ins.index] = true;
  }
}

}  // namespace

Result<void> validate_tag_type(const FuncType& type, const std::string& where) {
  // Spec 3.2.9 (tag types): an exception carries values and returns none.
  if (!type.results.empty()) return invalid("non-empty tag result type (" + where + ")");
  return {};
}

Result<void> validate_tag_type(const Module& m, uint32_t type_index, const std::string& where) {
  if (type_index >= m.types.size()) {
    return invalid("unknown type " + std::to_string(type_index) + " (" + where + ")");
  }
  return validate_tag_type(m.types[type_index], where);
}

Result<void> validate_memory_type(const MemoryType& type, const std::string& where) {
  return validate_limits(type.limits, ModuleLimits::kMaxMemoryPages,
                         "memory size must be at most 65536 pages (4GiB)", where);
}

Result<void> validate_table_type(const TableType& type, const std::string& where) {
  return validate_limits(type.limits, 0xffffffffu, "table size must be at most 2^32-1", where);
}

Result<void> validate_module_structure(Module& m) {
  for (uint32_t i = 0; i < m.imports.size(); ++i) {
    const Import& imp = m.imports[i];
    std::string where =
        "import " + std::to_string(i) + " \"" + imp.module + "\" \"" + imp.name + "\"";
    switch (imp.kind) {
      case ExternKind::kFunction:
        if (imp.type_index >= m.types.size()) {
          return invalid("unknown type " + std::to_string(imp.type_index) + " (" + where + ")");
        }
        break;
      case ExternKind::kTable:
        KILN_TRY(validate_table_type(imp.table, where));
        break;
      case ExternKind::kMemory:
        KILN_TRY(validate_memory_type(imp.memory, where));
        break;
      case ExternKind::kGlobal:
        break;
      case ExternKind::kTag:
        KILN_TRY(validate_tag_type(m, imp.type_index, where));
        break;
    }
  }
  for (uint32_t i = m.imported_functions; i < m.functions.size(); ++i) {
    if (m.functions[i] >= m.types.size()) {
      return invalid("unknown type " + std::to_string(m.functions[i]) + " (function " +
                     std::to_string(i) + ")");
    }
  }
  for (uint32_t i = m.imported_tags; i < m.tags.size(); ++i) {
    KILN_TRY(validate_tag_type(m, m.tags[i], "tag " + std::to_string(i)));
  }
  for (uint32_t i = m.imported_tables; i < m.tables.size(); ++i) {
    KILN_TRY(validate_table_type(m.tables[i], "table " + std::to_string(i)));
  }
  for (uint32_t i = m.imported_memories; i < m.memories.size(); ++i) {
    KILN_TRY(validate_memory_type(m.memories[i], "memory " + std::to_string(i)));
  }
  if (m.memories.size() > 1 && !m.multi_memory) {
    return invalid("multiple memories (Wasm 3.0 multi-memory is turned off)");
  }

  for (uint32_t i = m.imported_globals; i < m.globals.size(); ++i) {
    KILN_TRY(validate_const_expr(m, m.globals[i].init, m.globals[i].type.type, m.imported_globals,
                                 "global " + std::to_string(i)));
  }

  std::unordered_set<std::string_view> export_names;
  for (const Export& e : m.exports) {
    if (!export_names.insert(e.name).second)
      return invalid("duplicate export name \"" + e.name + "\"");
    size_t count = 0;
    switch (e.kind) {
      case ExternKind::kFunction:
        count = m.functions.size();
        break;
      case ExternKind::kTable:
        count = m.tables.size();
        break;
      case ExternKind::kMemory:
        count = m.memories.size();
        break;
      case ExternKind::kGlobal:
        count = m.globals.size();
        break;
      case ExternKind::kTag:
        count = m.tags.size();
        break;
    }
    if (e.index >= count) {
      return invalid(std::string("unknown ") + extern_kind_name(e.kind) + " " +
                     std::to_string(e.index) + " (export \"" + e.name + "\")");
    }
  }

  if (m.start) {
    if (*m.start >= m.functions.size())
      return invalid("unknown function " + std::to_string(*m.start) + " (start)");
    const FuncType& t = m.function_type(*m.start);
    if (!t.params.empty() || !t.results.empty())
      return invalid("start function must have type [] -> []");
  }

  for (uint32_t i = 0; i < m.elements.size(); ++i) {
    const ElementSegment& seg = m.elements[i];
    std::string where = "element segment " + std::to_string(i);
    for (const ConstExpr& item : seg.items) {
      KILN_TRY(validate_const_expr(m, item, seg.type, m.imported_globals, where));
    }
    if (seg.mode == SegmentMode::kActive) {
      if (seg.table_index >= m.tables.size()) {
        return invalid("unknown table " + std::to_string(seg.table_index) + " (" + where + ")");
      }
      if (m.tables[seg.table_index].element != seg.type) {
        return invalid("type mismatch: segment and table element types differ (" + where + ")");
      }
      KILN_TRY(validate_const_expr(m, seg.offset, ValType::kI32, m.imported_globals, where));
    }
  }
  for (uint32_t i = 0; i < m.data.size(); ++i) {
    const DataSegment& seg = m.data[i];
    if (seg.mode != SegmentMode::kActive) continue;
    std::string where = "data segment " + std::to_string(i);
    if (seg.memory_index >= m.memories.size()) {
      return invalid("unknown memory " + std::to_string(seg.memory_index) + " (" + where + ")");
    }
    KILN_TRY(validate_const_expr(m, seg.offset, ValType::kI32, m.imported_globals, where));
  }

  // Spec 3.4.10: ref.func in code may only name functions referenced outside function bodies.
  m.declared_function_refs.assign(m.functions.size(), false);
  for (uint32_t i = m.imported_globals; i < m.globals.size(); ++i) {
    collect_function_refs(m.globals[i].init, m.declared_function_refs);
  }
  for (const ElementSegment& seg : m.elements) {
    for (const ConstExpr& item : seg.items) collect_function_refs(item, m.declared_function_refs);
  }
  for (const Export& e : m.exports) {
    if (e.kind == ExternKind::kFunction) m.declared_function_refs[e.index] = true;
  }
  return {};
}

}  // namespace kiln
