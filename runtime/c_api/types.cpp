// wasm.h: vectors, value/function/global/table/memory/extern/import/export types, and the
// conversions between them and the runtime's types.
#include <cstring>
#include <new>

#include "runtime/c_api/c_api_internal.h"

using namespace kiln;
using namespace kiln::c_api;

namespace kiln::c_api {

bool valtype_of_kind(wasm_valkind_t kind, ValType* out) {
  switch (kind) {
    case WASM_I32:
      *out = ValType::kI32;
      return true;
    case WASM_I64:
      *out = ValType::kI64;
      return true;
    case WASM_F32:
      *out = ValType::kF32;
      return true;
    case WASM_F64:
      *out = ValType::kF64;
      return true;
    case 4:
      *out = ValType::kV128;
      return true;  // KILN_V128
    case WASM_EXTERNREF:
      *out = ValType::kExternRef;
      return true;
    case WASM_FUNCREF:
      *out = ValType::kFuncRef;
      return true;
    default:
      return false;
  }
}

wasm_valkind_t kind_of_valtype(ValType type) {
  switch (type) {
    case ValType::kI32:
      return WASM_I32;
    case ValType::kI64:
      return WASM_I64;
    case ValType::kF32:
      return WASM_F32;
    case ValType::kF64:
      return WASM_F64;
    case ValType::kExternRef:
      return WASM_EXTERNREF;
    case ValType::kFuncRef:
      return WASM_FUNCREF;
    default:
      return 4;  // KILN_V128
  }
}

}  // namespace kiln::c_api

// ---------------------------------------------------------------------------------------------
// Vectors. Allocation failure leaves an empty vector rather than throwing across the C API.

namespace {

template <typename Vec, typename T>
void vec_allocate(Vec* out, size_t size) {
  out->size = 0;
  out->data = nullptr;
  if (size == 0) return;
  T* data = new (std::nothrow) T[size]();
  if (!data) {
    set_last_error("out of memory allocating a vector of " + std::to_string(size));
    return;
  }
  out->data = data;
  out->size = size;
}

}  // namespace

// The vector functions of wasm_NAME_t, whose elements are of type `element`: copied with
// copy_element(out, in) and released with delete_element(element*).
#define KILN_VEC(name, element, copy_element, delete_element)                               \
  void wasm_##name##_vec_new_empty(wasm_##name##_vec_t* out) {                              \
    if (out) *out = {0, nullptr};                                                           \
  }                                                                                         \
  void wasm_##name##_vec_new_uninitialized(wasm_##name##_vec_t* out, size_t size) {         \
    if (out) vec_allocate<wasm_##name##_vec_t, element>(out, size);                         \
  }                                                                                         \
  void wasm_##name##_vec_new(wasm_##name##_vec_t* out, size_t size, element const data[]) { \
    if (!out) return;                                                                       \
    vec_allocate<wasm_##name##_vec_t, element>(out, data ? size : 0);                       \
    for (size_t i = 0; i < out->size; ++i) out->data[i] = data[i];                          \
  }                                                                                         \
  void wasm_##name##_vec_copy(wasm_##name##_vec_t* out, const wasm_##name##_vec_t* in) {    \
    if (!out) return;                                                                       \
    if (!in) return wasm_##name##_vec_new_empty(out);                                       \
    vec_allocate<wasm_##name##_vec_t, element>(out, in->data ? in->size : 0);               \
    for (size_t i = 0; i < out->size; ++i) copy_element(&out->data[i], &in->data[i]);       \
  }                                                                                         \
  void wasm_##name##_vec_delete(wasm_##name##_vec_t* v) {                                   \
    if (!v) return;                                                                         \
    for (size_t i = 0; v->data && i < v->size; ++i) delete_element(&v->data[i]);            \
    delete[] v->data;                                                                       \
    *v = {0, nullptr};                                                                      \
  }

// Bytes and wasm_val_t are held by value; the other vectors hold owned pointers, copied with
// wasm_NAME_copy and released with wasm_NAME_delete.
#define KILN_POINTER_VEC(name)                                \
  KILN_VEC(                                                   \
      name, wasm_##name##_t*,                                 \
      [](wasm_##name##_t** out, wasm_##name##_t* const* in) { \
        *out = *in ? wasm_##name##_copy(*in) : nullptr;       \
      },                                                      \
      [](wasm_##name##_t** element) { wasm_##name##_delete(*element); })

namespace {
void copy_byte(wasm_byte_t* out, const wasm_byte_t* in) {
  *out = *in;
}
void delete_byte(wasm_byte_t*) {}
void delete_val(wasm_val_t* v) {
  wasm_val_delete(v);
}
}  // namespace

extern "C" {

KILN_VEC(byte, wasm_byte_t, copy_byte, delete_byte)
KILN_VEC(val, wasm_val_t, wasm_val_copy, delete_val)
KILN_POINTER_VEC(valtype)
KILN_POINTER_VEC(functype)
KILN_POINTER_VEC(globaltype)
KILN_POINTER_VEC(tabletype)
KILN_POINTER_VEC(memorytype)
KILN_POINTER_VEC(externtype)
KILN_POINTER_VEC(importtype)
KILN_POINTER_VEC(exporttype)
KILN_POINTER_VEC(frame)
KILN_POINTER_VEC(extern)

// ---------------------------------------------------------------------------------------------
// Value types.

wasm_valtype_t* wasm_valtype_new(wasm_valkind_t kind) {
  ValType type;
  if (!valtype_of_kind(kind, &type)) {
    return fail("wasm_valtype_new: unknown value kind " + std::to_string(kind),
                static_cast<wasm_valtype_t*>(nullptr));
  }
  return new wasm_valtype_t{kind};
}
void wasm_valtype_delete(wasm_valtype_t* type) {
  delete type;
}
wasm_valtype_t* wasm_valtype_copy(const wasm_valtype_t* type) {
  return type ? new wasm_valtype_t{type->kind} : nullptr;
}
wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t* type) {
  return type ? type->kind : wasm_valkind_t{WASM_I32};
}

// ---------------------------------------------------------------------------------------------
// Function types.

wasm_functype_t* wasm_functype_new(wasm_valtype_vec_t* params, wasm_valtype_vec_t* results) {
  auto* type = new wasm_functype_t;
  // Ownership of the elements passes to the type; the caller's vectors are left empty.
  if (params) std::swap(type->params, *params);
  if (results) std::swap(type->results, *results);
  for (const wasm_valtype_vec_t* v : {&type->params, &type->results}) {
    for (size_t i = 0; i < v->size; ++i) {
      if (!v->data[i]) {
        delete type;
        return fail("wasm_functype_new: a value type is null",
                    static_cast<wasm_functype_t*>(nullptr));
      }
    }
  }
  return type;
}
wasm_functype_t::~wasm_functype_t() {
  wasm_valtype_vec_delete(&params);
  wasm_valtype_vec_delete(&results);
}
void wasm_functype_delete(wasm_functype_t* type) {
  delete type;
}
wasm_functype_t* wasm_functype_copy(const wasm_functype_t* type) {
  if (!type) return nullptr;
  auto* copy = new wasm_functype_t;
  wasm_valtype_vec_copy(&copy->params, &type->params);
  wasm_valtype_vec_copy(&copy->results, &type->results);
  return copy;
}
const wasm_valtype_vec_t* wasm_functype_params(const wasm_functype_t* type) {
  return type ? &type->params : nullptr;
}
const wasm_valtype_vec_t* wasm_functype_results(const wasm_functype_t* type) {
  return type ? &type->results : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Global, table and memory types.

wasm_globaltype_t* wasm_globaltype_new(wasm_valtype_t* content, wasm_mutability_t mutability) {
  if (!content || mutability > WASM_VAR) {
    delete content;
    return fail("wasm_globaltype_new: null content type or unknown mutability",
                static_cast<wasm_globaltype_t*>(nullptr));
  }
  auto* type = new wasm_globaltype_t;
  type->content = content;
  type->mutability = mutability;
  return type;
}
void wasm_globaltype_delete(wasm_globaltype_t* type) {
  delete type;
}
wasm_globaltype_t* wasm_globaltype_copy(const wasm_globaltype_t* type) {
  if (!type) return nullptr;
  return wasm_globaltype_new(wasm_valtype_copy(type->content), type->mutability);
}
const wasm_valtype_t* wasm_globaltype_content(const wasm_globaltype_t* type) {
  return type ? type->content : nullptr;
}
wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t* type) {
  return type ? type->mutability : wasm_mutability_t{WASM_CONST};
}

wasm_tabletype_t* wasm_tabletype_new(wasm_valtype_t* element, const wasm_limits_t* limits) {
  if (!element || !limits || !wasm_valkind_is_ref(element->kind) || limits->min > limits->max) {
    delete element;
    return fail(
        "wasm_tabletype_new: the element type must be a reference type, and the "
        "limits present with min <= max",
        static_cast<wasm_tabletype_t*>(nullptr));
  }
  auto* type = new wasm_tabletype_t;
  type->element = element;
  type->limits = *limits;
  return type;
}
void wasm_tabletype_delete(wasm_tabletype_t* type) {
  delete type;
}
wasm_tabletype_t* wasm_tabletype_copy(const wasm_tabletype_t* type) {
  if (!type) return nullptr;
  return wasm_tabletype_new(wasm_valtype_copy(type->element), &type->limits);
}
const wasm_valtype_t* wasm_tabletype_element(const wasm_tabletype_t* type) {
  return type ? type->element : nullptr;
}
const wasm_limits_t* wasm_tabletype_limits(const wasm_tabletype_t* type) {
  return type ? &type->limits : nullptr;
}

wasm_memorytype_t* wasm_memorytype_new(const wasm_limits_t* limits) {
  if (!limits || limits->min > limits->max) {
    return fail("wasm_memorytype_new: limits absent or min > max",
                static_cast<wasm_memorytype_t*>(nullptr));
  }
  auto* type = new wasm_memorytype_t;
  type->limits = *limits;
  return type;
}
void wasm_memorytype_delete(wasm_memorytype_t* type) {
  delete type;
}
wasm_memorytype_t* wasm_memorytype_copy(const wasm_memorytype_t* type) {
  return type ? wasm_memorytype_new(&type->limits) : nullptr;
}
const wasm_limits_t* wasm_memorytype_limits(const wasm_memorytype_t* type) {
  return type ? &type->limits : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Extern types: views of the four, by kind.

void wasm_externtype_delete(wasm_externtype_t* type) {
  delete type;
}
wasm_externtype_t* wasm_externtype_copy(const wasm_externtype_t* type) {
  if (!type) return nullptr;
  switch (type->kind) {
    case WASM_EXTERN_FUNC:
      return wasm_functype_copy(static_cast<const wasm_functype_t*>(type));
    case WASM_EXTERN_GLOBAL:
      return wasm_globaltype_copy(static_cast<const wasm_globaltype_t*>(type));
    case WASM_EXTERN_TABLE:
      return wasm_tabletype_copy(static_cast<const wasm_tabletype_t*>(type));
    default:
      return wasm_memorytype_copy(static_cast<const wasm_memorytype_t*>(type));
  }
}
wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t* type) {
  return type ? type->kind : wasm_externkind_t{WASM_EXTERN_FUNC};
}

#define KILN_EXTERNTYPE_VIEWS(name, kind_constant)                                              \
  wasm_externtype_t* wasm_##name##_as_externtype(wasm_##name##_t* type) {                       \
    return type;                                                                                \
  }                                                                                             \
  const wasm_externtype_t* wasm_##name##_as_externtype_const(const wasm_##name##_t* type) {     \
    return type;                                                                                \
  }                                                                                             \
  wasm_##name##_t* wasm_externtype_as_##name(wasm_externtype_t* type) {                         \
    return type && type->kind == kind_constant ? static_cast<wasm_##name##_t*>(type) : nullptr; \
  }                                                                                             \
  const wasm_##name##_t* wasm_externtype_as_##name##_const(const wasm_externtype_t* type) {     \
    return type && type->kind == kind_constant ? static_cast<const wasm_##name##_t*>(type)      \
                                               : nullptr;                                       \
  }
KILN_EXTERNTYPE_VIEWS(functype, WASM_EXTERN_FUNC)
KILN_EXTERNTYPE_VIEWS(globaltype, WASM_EXTERN_GLOBAL)
KILN_EXTERNTYPE_VIEWS(tabletype, WASM_EXTERN_TABLE)
KILN_EXTERNTYPE_VIEWS(memorytype, WASM_EXTERN_MEMORY)

// ---------------------------------------------------------------------------------------------
// Import and export types.

wasm_importtype_t* wasm_importtype_new(wasm_name_t* module, wasm_name_t* name,
                                       wasm_externtype_t* type) {
  if (!module || !name || !type) {
    if (module) wasm_name_delete(module);
    if (name) wasm_name_delete(name);
    delete type;
    return fail("wasm_importtype_new: null argument", static_cast<wasm_importtype_t*>(nullptr));
  }
  auto* import = new wasm_importtype_t;
  std::swap(import->module, *module);
  std::swap(import->name, *name);
  import->type = type;
  return import;
}
wasm_importtype_t::~wasm_importtype_t() {
  wasm_name_delete(&module);
  wasm_name_delete(&name);
  delete type;
}
void wasm_importtype_delete(wasm_importtype_t* type) {
  delete type;
}
wasm_importtype_t* wasm_importtype_copy(const wasm_importtype_t* type) {
  if (!type) return nullptr;
  wasm_name_t module, name;
  wasm_name_copy(&module, &type->module);
  wasm_name_copy(&name, &type->name);
  return wasm_importtype_new(&module, &name, wasm_externtype_copy(type->type));
}
const wasm_name_t* wasm_importtype_module(const wasm_importtype_t* type) {
  return type ? &type->module : nullptr;
}
const wasm_name_t* wasm_importtype_name(const wasm_importtype_t* type) {
  return type ? &type->name : nullptr;
}
const wasm_externtype_t* wasm_importtype_type(const wasm_importtype_t* type) {
  return type ? type->type : nullptr;
}

wasm_exporttype_t* wasm_exporttype_new(wasm_name_t* name, wasm_externtype_t* type) {
  if (!name || !type) {
    if (name) wasm_name_delete(name);
    delete type;
    return fail("wasm_exporttype_new: null argument", static_cast<wasm_exporttype_t*>(nullptr));
  }
  auto* exp = new wasm_exporttype_t;
  std::swap(exp->name, *name);
  exp->type = type;
  return exp;
}
wasm_exporttype_t::~wasm_exporttype_t() {
  wasm_name_delete(&name);
  delete type;
}
void wasm_exporttype_delete(wasm_exporttype_t* type) {
  delete type;
}
wasm_exporttype_t* wasm_exporttype_copy(const wasm_exporttype_t* type) {
  if (!type) return nullptr;
  wasm_name_t name;
  wasm_name_copy(&name, &type->name);
  return wasm_exporttype_new(&name, wasm_externtype_copy(type->type));
}
const wasm_name_t* wasm_exporttype_name(const wasm_exporttype_t* type) {
  return type ? &type->name : nullptr;
}
const wasm_externtype_t* wasm_exporttype_type(const wasm_exporttype_t* type) {
  return type ? type->type : nullptr;
}

}  // extern "C"

// ---------------------------------------------------------------------------------------------
// Conversions with the runtime's types.

namespace kiln::c_api {

namespace {
wasm_limits_t to_c_limits(const Limits& limits) {
  return {static_cast<uint32_t>(limits.min),
          limits.max ? static_cast<uint32_t>(*limits.max) : wasm_limits_max_default};
}
Limits to_runtime_limits(const wasm_limits_t& limits) {
  Limits out;
  out.min = limits.min;
  if (limits.max != wasm_limits_max_default) out.max = limits.max;
  return out;
}
void fill_valtypes(wasm_valtype_vec_t* out, const std::vector<ValType>& types) {
  wasm_valtype_vec_new_uninitialized(out, types.size());
  for (size_t i = 0; i < out->size; ++i)
    out->data[i] = new wasm_valtype_t{kind_of_valtype(types[i])};
}
bool runtime_valtypes(const wasm_valtype_vec_t& in, std::vector<ValType>* out) {
  for (size_t i = 0; i < in.size; ++i) {
    ValType t;
    if (!in.data[i] || !valtype_of_kind(in.data[i]->kind, &t)) return false;
    out->push_back(t);
  }
  return true;
}
}  // namespace

wasm_functype_t* make_functype(const FuncType& type) {
  auto* out = new wasm_functype_t;
  fill_valtypes(&out->params, type.params);
  fill_valtypes(&out->results, type.results);
  return out;
}
wasm_globaltype_t* make_globaltype(const GlobalType& type) {
  auto* out = new wasm_globaltype_t;
  out->content = new wasm_valtype_t{kind_of_valtype(type.type)};
  out->mutability = type.mutable_ ? WASM_VAR : WASM_CONST;
  return out;
}
wasm_tabletype_t* make_tabletype(const TableType& type) {
  auto* out = new wasm_tabletype_t;
  out->element = new wasm_valtype_t{kind_of_valtype(type.element)};
  out->limits = to_c_limits(type.limits);
  return out;
}
wasm_memorytype_t* make_memorytype(const MemoryType& type) {
  auto* out = new wasm_memorytype_t;
  out->limits = to_c_limits(type.limits);
  return out;
}

bool to_runtime(const wasm_functype_t* type, FuncType* out) {
  return type && runtime_valtypes(type->params, &out->params) &&
         runtime_valtypes(type->results, &out->results);
}
bool to_runtime(const wasm_globaltype_t* type, GlobalType* out) {
  if (!type || !type->content || !valtype_of_kind(type->content->kind, &out->type)) return false;
  out->mutable_ = type->mutability == WASM_VAR;
  return true;
}
bool to_runtime(const wasm_tabletype_t* type, TableType* out) {
  if (!type || !type->element || !valtype_of_kind(type->element->kind, &out->element) ||
      !is_reference(out->element)) {
    return false;
  }
  out->limits = to_runtime_limits(type->limits);
  return true;
}
bool to_runtime(const wasm_memorytype_t* type, MemoryType* out) {
  if (!type) return false;
  out->limits = to_runtime_limits(type->limits);
  return !out->limits.max || *out->limits.max <= ModuleLimits::kMaxMemoryPages;
}

}  // namespace kiln::c_api
