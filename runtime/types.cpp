#include "runtime/types.h"

namespace kiln {

const char* valtype_name(ValType t) {
  switch (t) {
    case ValType::kI32:
      return "i32";
    case ValType::kI64:
      return "i64";
    case ValType::kF32:
      return "f32";
    case ValType::kF64:
      return "f64";
    case ValType::kV128:
      return "v128";
    case ValType::kFuncRef:
      return "funcref";
    case ValType::kExternRef:
      return "externref";
    case ValType::kExnRef:
      return "exnref";
    case ValType::kUnknown:
      return "unknown";
  }
  return "?";
}

std::optional<ValType> valtype_from_byte(uint8_t byte) {
  switch (byte) {
    case 0x7f:
    case 0x7e:
    case 0x7d:
    case 0x7c:
    case 0x7b:
    case 0x70:
    case 0x6f:
    case 0x69:
      return static_cast<ValType>(byte);
    default:
      return std::nullopt;
  }
}

uint32_t cell_count(std::span<const ValType> types) {
  uint32_t n = 0;
  for (ValType t : types) n += cell_count(t);
  return n;
}

uint32_t FuncType::param_cells() const {
  return cell_count(params);
}
uint32_t FuncType::result_cells() const {
  return cell_count(results);
}

std::string FuncType::to_string() const {
  std::string s = "(func";
  if (!params.empty()) {
    s += " (param";
    for (ValType t : params) s += std::string(" ") + valtype_name(t);
    s += ")";
  }
  if (!results.empty()) {
    s += " (result";
    for (ValType t : results) s += std::string(" ") + valtype_name(t);
    s += ")";
  }
  return s + ")";
}

const char* extern_kind_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::kFunction:
      return "function";
    case ExternKind::kTable:
      return "table";
    case ExternKind::kMemory:
      return "memory";
    case ExternKind::kGlobal:
      return "global";
    case ExternKind::kTag:
      return "tag";
  }
  return "?";
}

bool limits_match(const Limits& actual, const Limits& expected) {
  if (actual.min < expected.min) return false;
  if (!expected.max) return true;
  return actual.max && *actual.max <= *expected.max;
}

size_t TypeRegistry::Hash::operator()(const FuncType& t) const {
  size_t h = t.params.size() * 31 + t.results.size();
  for (ValType v : t.params) h = h * 131 + static_cast<uint8_t>(v);
  for (ValType v : t.results) h = h * 137 + static_cast<uint8_t>(v);
  return h;
}

TypeRegistry::Interned TypeRegistry::acquire(const FuncType& type) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = ids_.try_emplace(type, 0);
  if (!inserted) {
    ++by_id_[it->second].references;
    return {it->second, &it->first};
  }
  // A freed id is handed out again, so ids stay as few as the types in use.
  uint32_t id;
  if (free_ids_.empty()) {
    id = static_cast<uint32_t>(by_id_.size());
    by_id_.emplace_back();
  } else {
    id = free_ids_.back();
    free_ids_.pop_back();
  }
  by_id_[id] = {&it->first, 1};  // node-based map: the key's address is stable
  it->second = id;
  return {id, &it->first};
}

void TypeRegistry::release(std::span<const uint32_t> ids) {
  std::lock_guard lock(mutex_);
  for (uint32_t id : ids) {
    Entry& entry = by_id_[id];
    if (--entry.references != 0) continue;
    ids_.erase(ids_.find(*entry.type));
    entry.type = nullptr;
    free_ids_.push_back(id);
  }
}

const FuncType& TypeRegistry::get(uint32_t id) const {
  std::lock_guard lock(mutex_);
  return *by_id_.at(id).type;
}

size_t TypeRegistry::size() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

TypeReferences& TypeReferences::operator=(TypeReferences&& other) noexcept {
  if (this != &other) {
    release_all();
    registry_ = std::move(other.registry_);
    ids_ = std::move(other.ids_);
  }
  return *this;
}

TypeReferences::~TypeReferences() {
  release_all();
}

void TypeReferences::release_all() {
  if (registry_ && !ids_.empty()) registry_->release(ids_);
  ids_.clear();
}

TypeRegistry::Interned TypeReferences::intern(const FuncType& type) {
  const TypeRegistry::Interned interned = registry_->acquire(type);
  ids_.push_back(interned.id);
  return interned;
}

}  // namespace kiln
