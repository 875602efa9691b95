#include "component/component_decoder.h"

#include <algorithm>
#include <string>

#include "runtime/binary_reader.h"
#include "runtime/interpreter_code.h"
#include "runtime/module_decoder.h"
#include "runtime/tier.h"

namespace kiln::component {

const char* sort_name(Sort sort) {
  static const char* const names[] = {"core func", "core table", "core memory", "core global",
                                      "core tag",  "core type",  "core module", "core instance",
                                      "func",      "value",      "type",        "component",
                                      "instance"};
  return names[static_cast<size_t>(sort)];
}

const char* primitive_name(PrimitiveType type) {
  static const char* const names[] = {"bool", "s8",   "u8",     "s16",          "u16",
                                      "s32",  "u32",  "s64",    "u64",          "f32",
                                      "f64",  "char", "string", "error-context"};
  return names[static_cast<size_t>(type)];
}

bool is_component(std::span<const uint8_t> bytes) {
  return bytes.size() >= 8 && bytes[0] == 0x00 && bytes[1] == 'a' && bytes[2] == 's' &&
         bytes[3] == 'm' && bytes[6] == 0x01 && bytes[7] == 0x00;
}

namespace {

enum SectionId : uint8_t {
  kCustomSection = 0,
  kCoreModuleSection = 1,
  kCoreInstanceSection = 2,
  kCoreTypeSection = 3,
  kComponentSection = 4,
  kInstanceSection = 5,
  kAliasSection = 6,
  kTypeSection = 7,
  kCanonSection = 8,
  kStartSection = 9,
  kImportSection = 10,
  kExportSection = 11,
  kValueSection = 12,
};

const char* section_name(uint8_t id) {
  static const char* const names[] = {
      "custom", "core module", "core instance", "core type", "component", "instance", "alias",
      "type",   "canon",       "start",         "import",    "export",    "value"};
  return id <= kValueSection ? names[id] : "unknown";
}

// The preamble's version (Binary.md: pre-standard 0x0d) and layer.
constexpr uint8_t kVersion = 0x0d;

Error malformed(const std::string& message, size_t offset) {
  return BinaryReader::malformed_at(message, offset);
}

Error not_supported(const std::string& what, size_t offset) {
  return Error{ErrorKind::kInvalid,
               what + " is not supported yet (at byte offset " + hex_offset(offset) + ")"};
}

Error bad_leading(uint8_t byte, const char* what, size_t offset) {
  return malformed("invalid leading byte " + hex_offset(byte) + " for " + what, offset);
}

// A vector's length: each element takes at least one byte, so a longer count cannot fit.
Result<uint32_t> read_count(BinaryReader& r) {
  const size_t at = r.offset();
  KILN_ASSIGN(uint32_t n, r.read_u32());
  if (n > r.remaining()) return malformed("unexpected end: a vector of " + std::to_string(n), at);
  return n;
}

// Reserves room for `n` more items, at most kReserveAtMost: each item takes at least a byte, so
// `n` is bounded by the bytes left, but an item can be a hundred times larger than its bytes.
// (Growing a vector of 100 declarators moved them eight times.)
template <class T>
void reserve_for(std::vector<T>& items, uint32_t n) {
  constexpr size_t kReserveAtMost = 256;
  items.reserve(items.size() + std::min<size_t>(n, kReserveAtMost));
}

class Decoder {
 public:
  Decoder(uint32_t depth, std::shared_ptr<const std::vector<uint8_t>> storage)
      : depth_(depth), storage_(std::move(storage)) {}

  Result<std::unique_ptr<Component>> component(BinaryReader& r) {
    auto c = std::make_unique<Component>();
    c->offset = r.offset();
    KILN_TRY(preamble(r));
    while (!r.at_end()) {
      const size_t section_at = r.offset();
      KILN_ASSIGN(uint8_t id, r.read_byte());
      KILN_ASSIGN(uint32_t size, r.read_u32());
      if (size > r.remaining()) {
        return malformed(std::string("unexpected end: the ") + section_name(id) + " section is " +
                             std::to_string(size) + " bytes, " + std::to_string(r.remaining()) +
                             " remain",
                         section_at);
      }
      KILN_ASSIGN(BinaryReader body, r.read_sub_reader(size));
      auto read = section(body, id, section_at, *c);
      if (!read) {
        Error e = read.take_error();
        e.message = std::string("in ") + section_name(id) + " section: " + e.message;
        return e;
      }
      if (!body.at_end()) {
        return Error{ErrorKind::kMalformed,
                     std::string("in ") + section_name(id) + " section: section size mismatch (" +
                         std::to_string(body.remaining()) + " bytes left over at byte offset " +
                         hex_offset(body.offset()) + ")"};
      }
    }
    return c;
  }

 private:
  Result<void> preamble(BinaryReader& r) {
    const size_t at = r.offset();
    static const uint8_t magic[] = {0x00, 'a', 's', 'm'};
    for (uint8_t m : magic) {
      auto b = r.read_byte();
      if (!b || *b != m) return malformed("magic header not detected", at);
    }
    auto version = r.read_fixed_u32();
    if (!version) return malformed("unexpected end: no version and layer", at + 4);
    const uint32_t v = *version;
    if ((v & 0xffff) != kVersion || (v >> 16) != 1) {
      if ((v >> 16) == 0) return malformed("a core module, not a component", at + 4);
      return malformed("unknown binary version " + hex_offset(v & 0xffff) + " and layer " +
                           hex_offset(v >> 16) + " (kiln reads components of version 0xd)",
                       at + 4);
    }
    return {};
  }

  Result<void> section(BinaryReader& r, uint8_t id, size_t at, Component& c) {
    switch (id) {
      case kCustomSection: {
        KILN_TRY(r.read_name());
        KILN_TRY(r.read_bytes(r.remaining()));
        return {};
      }
      case kCoreModuleSection: {
        CoreModuleBytes m;
        m.offset = r.offset();
        KILN_ASSIGN(auto bytes, r.read_bytes(r.remaining()));
        // Decoded now, so a malformed module is a malformed component; validated (and
        // compiled) when the component is, from this decoded form.
        m.decoded = std::make_shared<Module>();
        m.decoded->storage = storage_;
        m.decoded->bytes = bytes;
        auto decoded = decode_module(*m.decoded);
        if (!decoded) {
          Error e = decoded.take_error();
          e.message = "in the core module at byte offset " + hex_offset(m.offset) + ": " +
                      e.message + " (offsets from the module's start)";
          return e;
        }
        add(c, Definition::Kind::kCoreModule, c.core_modules, std::move(m));
        return {};
      }
      case kComponentSection: {
        if (depth_ + 1 >= kMaxNesting) {
          return Error{ErrorKind::kLimit, "components nest deeper than " +
                                              std::to_string(kMaxNesting) + " (at byte offset " +
                                              hex_offset(r.offset()) + ")"};
        }
        Decoder inner(depth_ + 1, storage_);
        KILN_ASSIGN(std::unique_ptr<Component> nested, inner.component(r));
        add(c, Definition::Kind::kComponent, c.components, std::move(nested));
        return {};
      }
      case kStartSection: {
        Start s;
        s.offset = r.offset();
        KILN_SET(s.function, r.read_u32());
        KILN_ASSIGN(uint32_t n, read_count(r));
        for (uint32_t i = 0; i < n; ++i) {
          KILN_ASSIGN(uint32_t v, r.read_u32());
          s.args.push_back(v);
        }
        KILN_SET(s.results, r.read_u32());
        add(c, Definition::Kind::kStart, c.starts, std::move(s));
        return {};
      }
      case kValueSection:
        return not_supported("the value section (component values)", at);
      default:
        break;
    }
    if (id > kValueSection) return malformed("malformed section id " + std::to_string(id), at);
    KILN_ASSIGN(uint32_t n, read_count(r));
    for (uint32_t i = 0; i < n; ++i) {
      using K = Definition::Kind;
      // Reads one item with `read` and appends it to `items` as the next definition.
      auto into = [&](K kind, auto& items, auto read) -> Result<void> {
        KILN_ASSIGN(auto v, read());
        add(c, kind, items, std::move(v));
        return {};
      };
      auto item = [&]() -> Result<void> {
        switch (id) {
          case kCoreInstanceSection:
            return into(K::kCoreInstance, c.core_instances, [&] { return core_instance(r); });
          case kCoreTypeSection:
            return into(K::kCoreType, c.core_types, [&] { return core_type(r, false); });
          case kInstanceSection:
            return into(K::kInstance, c.instances, [&] { return instance(r); });
          case kAliasSection:
            return into(K::kAlias, c.aliases, [&] { return alias(r); });
          case kTypeSection:
            return into(K::kType, c.types, [&] { return type(r); });
          case kCanonSection:
            return into(K::kCanon, c.canons, [&] { return canon(r); });
          case kImportSection:
            return into(K::kImport, c.imports, [&]() -> Result<ComponentImport> {
              ComponentImport v;
              v.offset = r.offset();
              KILN_SET(v.name, extern_name(r));
              KILN_SET(v.type, extern_type(r));
              return v;
            });
          case kExportSection:
            return into(K::kExport, c.exports, [&]() -> Result<ComponentExport> {
              ComponentExport v;
              v.offset = r.offset();
              KILN_SET(v.name, extern_name(r));
              KILN_SET(v.item, sort_index(r));
              const size_t at_type = r.offset();
              KILN_ASSIGN(uint8_t has_type, r.read_byte());
              if (has_type > 1) return bad_leading(has_type, "an export's optional type", at_type);
              if (has_type) KILN_SET(v.type, extern_type(r));
              return v;
            });
        }
        return {};
      }();
      if (!item) {
        Error e = item.take_error();
        e.message = "item " + std::to_string(i) + ": " + e.message;
        return e;
      }
    }
    return {};
  }

  template <typename T>
  static void add(Component& c, Definition::Kind kind, std::vector<T>& items, T item) {
    c.definitions.push_back({kind, static_cast<uint32_t>(items.size())});
    items.push_back(std::move(item));
  }

  // `core:sort`, with its byte already read.
  static Result<Sort> core_sort(uint8_t byte, size_t at) {
    switch (byte) {
      case 0x00:
        return Sort::kCoreFunc;
      case 0x01:
        return Sort::kCoreTable;
      case 0x02:
        return Sort::kCoreMemory;
      case 0x03:
        return Sort::kCoreGlobal;
      case 0x04:
        return Sort::kCoreTag;
      case 0x10:
        return Sort::kCoreType;
      case 0x11:
        return Sort::kCoreModule;
      case 0x12:
        return Sort::kCoreInstance;
    }
    return bad_leading(byte, "a core sort", at);
  }

  static Result<Sort> sort(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t byte, r.read_byte());
    switch (byte) {
      case 0x00: {
        const size_t core_at = r.offset();
        KILN_ASSIGN(uint8_t core, r.read_byte());
        return core_sort(core, core_at);
      }
      case 0x01:
        return Sort::kFunc;
      case 0x02:
        return Sort::kValue;
      case 0x03:
        return Sort::kType;
      case 0x04:
        return Sort::kComponent;
      case 0x05:
        return Sort::kInstance;
    }
    return bad_leading(byte, "a sort", at);
  }

  static Result<SortIndex> sort_index(BinaryReader& r) {
    SortIndex s;
    KILN_SET(s.sort, sort(r));
    KILN_SET(s.index, r.read_u32());
    return s;
  }

  static Result<SortIndex> core_sort_index(BinaryReader& r) {
    SortIndex s;
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t byte, r.read_byte());
    KILN_SET(s.sort, core_sort(byte, at));
    KILN_SET(s.index, r.read_u32());
    return s;
  }

  static Result<CoreInstance> core_instance(BinaryReader& r) {
    CoreInstance v;
    v.offset = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    if (form == 0x00) {
      KILN_SET(v.module, r.read_u32());
      KILN_ASSIGN(uint32_t n, read_count(r));
      reserve_for(v.args, n);
      for (uint32_t i = 0; i < n; ++i) {
        KILN_ASSIGN(std::string name, r.read_name());
        const size_t at = r.offset();
        KILN_ASSIGN(uint8_t kind, r.read_byte());
        if (kind != 0x12) return bad_leading(kind, "a core instantiation argument", at);
        KILN_ASSIGN(uint32_t instance, r.read_u32());
        v.args.emplace_back(std::move(name), instance);
      }
      return v;
    }
    if (form == 0x01) {
      v.instantiate = false;
      KILN_ASSIGN(uint32_t n, read_count(r));
      reserve_for(v.exports, n);
      for (uint32_t i = 0; i < n; ++i) {
        KILN_ASSIGN(std::string name, r.read_name());
        KILN_ASSIGN(SortIndex item, core_sort_index(r));
        v.exports.emplace_back(std::move(name), item);
      }
      return v;
    }
    return bad_leading(form, "a core instance", v.offset);
  }

  static Result<Instance> instance(BinaryReader& r) {
    Instance v;
    v.offset = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    if (form == 0x00) {
      KILN_SET(v.component, r.read_u32());
      KILN_ASSIGN(uint32_t n, read_count(r));
      reserve_for(v.args, n);
      for (uint32_t i = 0; i < n; ++i) {
        KILN_ASSIGN(std::string name, r.read_name());
        KILN_ASSIGN(SortIndex item, sort_index(r));
        v.args.emplace_back(std::move(name), item);
      }
      return v;
    }
    if (form == 0x01) {
      v.instantiate = false;
      KILN_ASSIGN(uint32_t n, read_count(r));
      reserve_for(v.exports, n);
      for (uint32_t i = 0; i < n; ++i) {
        KILN_ASSIGN(ExternName name, extern_name(r));
        KILN_ASSIGN(SortIndex item, sort_index(r));
        v.exports.emplace_back(std::move(name), item);
      }
      return v;
    }
    return bad_leading(form, "an instance", v.offset);
  }

  static Result<Alias> alias(BinaryReader& r) {
    Alias a;
    a.offset = r.offset();
    KILN_SET(a.sort, sort(r));
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t target, r.read_byte());
    switch (target) {
      case 0x00:
        a.target = Alias::Target::kExport;
        KILN_SET(a.instance, r.read_u32());
        KILN_SET(a.name, r.read_name());
        return a;
      case 0x01:
        a.target = Alias::Target::kCoreExport;
        KILN_SET(a.instance, r.read_u32());
        KILN_SET(a.name, r.read_name());
        return a;
      case 0x02:
        // Binary.md outeraliassort: only types, modules and components are aliased outward.
        if (a.sort != Sort::kCoreType && a.sort != Sort::kCoreModule && a.sort != Sort::kType &&
            a.sort != Sort::kComponent) {
          return malformed(std::string("an outer alias of a ") + sort_name(a.sort) +
                               " (only types, core modules and components)",
                           a.offset);
        }
        a.target = Alias::Target::kOuter;
        KILN_SET(a.outer_count, r.read_u32());
        KILN_SET(a.outer_index, r.read_u32());
        return a;
    }
    return bad_leading(target, "an alias target", at);
  }

  // `nameattributes`.
  static Result<ExternName> extern_name(BinaryReader& r) {
    ExternName n;
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    if (form > 0x02) return bad_leading(form, "a name", at);
    KILN_SET(n.name, r.read_name());
    if (form != 0x02) return n;
    KILN_ASSIGN(uint32_t count, read_count(r));
    for (uint32_t i = 0; i < count; ++i) {
      const size_t attribute_at = r.offset();
      KILN_ASSIGN(uint8_t kind, r.read_byte());
      std::optional<std::string>* slot = nullptr;
      switch (kind) {
        case 0x00:
          slot = &n.implements;
          break;
        case 0x01:
          slot = &n.version_suffix;
          break;
        case 0x02:
          slot = &n.external_id;
          break;
        default:
          return bad_leading(kind, "a name attribute", attribute_at);
      }
      if (*slot) return malformed("a name attribute given twice", attribute_at);
      KILN_SET(*slot, r.read_name());
    }
    return n;
  }

  static Result<ExternType> extern_type(BinaryReader& r) {
    ExternType t;
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t kind, r.read_byte());
    switch (kind) {
      case 0x00: {
        const size_t core_at = r.offset();
        KILN_ASSIGN(uint8_t sort, r.read_byte());
        if (sort != 0x11) return bad_leading(sort, "a core extern type", core_at);
        t.kind = ExternType::Kind::kCoreModule;
        KILN_SET(t.index, r.read_u32());
        return t;
      }
      case 0x01:
        t.kind = ExternType::Kind::kFunc;
        KILN_SET(t.index, r.read_u32());
        return t;
      case 0x02: {
        t.kind = ExternType::Kind::kValue;
        const size_t bound_at = r.offset();
        KILN_ASSIGN(uint8_t bound, r.read_byte());
        if (bound == 0x00) {
          KILN_SET(t.index, r.read_u32());
        } else if (bound == 0x01) {
          t.bound = ExternType::Bound::kValueType;
          KILN_SET(t.value_type, value_type(r));
        } else {
          return bad_leading(bound, "a value bound", bound_at);
        }
        return t;
      }
      case 0x03: {
        t.kind = ExternType::Kind::kType;
        const size_t bound_at = r.offset();
        KILN_ASSIGN(uint8_t bound, r.read_byte());
        if (bound == 0x00) {
          KILN_SET(t.index, r.read_u32());
        } else if (bound == 0x01) {
          t.bound = ExternType::Bound::kSubResource;
        } else {
          return bad_leading(bound, "a type bound", bound_at);
        }
        return t;
      }
      case 0x04:
        t.kind = ExternType::Kind::kComponent;
        KILN_SET(t.index, r.read_u32());
        return t;
      case 0x05:
        t.kind = ExternType::Kind::kInstance;
        KILN_SET(t.index, r.read_u32());
        return t;
    }
    return bad_leading(kind, "an extern type", at);
  }

  static std::optional<PrimitiveType> primitive(uint8_t byte) {
    if (byte >= 0x73 && byte <= 0x7f) return static_cast<PrimitiveType>(0x7f - byte);
    if (byte == 0x64) return PrimitiveType::kErrorContext;
    return std::nullopt;
  }

  // `valtype`: a primitive type's byte, or a type index (a non-negative s33).
  static Result<ValueType> value_type(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(int64_t v, r.read_s33());
    ValueType t;
    if (v >= 0) {
      if (v > UINT32_MAX) return malformed("type index too large", at);
      t.is_primitive = false;
      t.index = static_cast<uint32_t>(v);
      return t;
    }
    const uint8_t byte = static_cast<uint8_t>(v & 0x7f);
    auto p = v >= -64 ? primitive(byte) : std::nullopt;
    if (!p) return malformed("malformed value type", at);
    t.primitive = *p;
    return t;
  }

  static Result<std::optional<ValueType>> optional_value_type(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t present, r.read_byte());
    if (present == 0) return std::optional<ValueType>();
    if (present != 1) return bad_leading(present, "an optional type", at);
    KILN_ASSIGN(ValueType t, value_type(r));
    return std::optional<ValueType>(t);
  }

  static Result<std::string> label(BinaryReader& r) { return r.read_name(); }

  static Result<std::vector<LabeledType>> labeled_types(BinaryReader& r) {
    std::vector<LabeledType> out;
    KILN_ASSIGN(uint32_t n, read_count(r));
    reserve_for(out, n);
    for (uint32_t i = 0; i < n; ++i) {
      LabeledType l;
      KILN_SET(l.label, label(r));
      KILN_SET(l.type, value_type(r));
      out.push_back(std::move(l));
    }
    return out;
  }

  static Result<std::vector<std::string>> labels(BinaryReader& r) {
    std::vector<std::string> out;
    KILN_ASSIGN(uint32_t n, read_count(r));
    reserve_for(out, n);
    for (uint32_t i = 0; i < n; ++i) {
      KILN_ASSIGN(std::string l, label(r));
      out.push_back(std::move(l));
    }
    return out;
  }

  // `defvaltype` after its first byte (`byte`, at `at`).
  static Result<DefinedValueType> defined_value_type(BinaryReader& r, uint8_t byte, size_t at) {
    using Kind = DefinedValueType::Kind;
    DefinedValueType t;
    if (auto p = primitive(byte)) {
      t.primitive = *p;
      return t;
    }
    switch (byte) {
      case 0x72:
        t.kind = Kind::kRecord;
        KILN_SET(t.fields, labeled_types(r));
        if (t.fields.empty()) return malformed("a record needs at least one field", at);
        return t;
      case 0x71: {
        t.kind = Kind::kVariant;
        KILN_ASSIGN(uint32_t n, read_count(r));
        reserve_for(t.cases, n);
        for (uint32_t i = 0; i < n; ++i) {
          VariantCase c;
          KILN_SET(c.label, label(r));
          KILN_SET(c.type, optional_value_type(r));
          const size_t zero_at = r.offset();
          KILN_ASSIGN(uint8_t zero, r.read_byte());
          if (zero != 0) return bad_leading(zero, "a variant case's trailing 0x00", zero_at);
          t.cases.push_back(std::move(c));
        }
        if (t.cases.empty()) return malformed("a variant needs at least one case", at);
        return t;
      }
      case 0x70:
        t.kind = Kind::kList;
        t.types.resize(1);
        KILN_SET(t.types[0], value_type(r));
        return t;
      case 0x67:
        t.kind = Kind::kFixedList;
        t.types.resize(1);
        KILN_SET(t.types[0], value_type(r));
        KILN_SET(t.length, r.read_u32());
        return t;
      case 0x6f: {
        t.kind = Kind::kTuple;
        KILN_ASSIGN(uint32_t n, read_count(r));
        reserve_for(t.types, n);
        for (uint32_t i = 0; i < n; ++i) {
          KILN_ASSIGN(ValueType v, value_type(r));
          t.types.push_back(v);
        }
        if (t.types.empty()) return malformed("a tuple needs at least one type", at);
        return t;
      }
      case 0x6e:
        t.kind = Kind::kFlags;
        KILN_SET(t.labels, labels(r));
        if (t.labels.empty() || t.labels.size() > 32) {
          return malformed("flags need 1 to 32 labels, not " + std::to_string(t.labels.size()), at);
        }
        return t;
      case 0x6d:
        t.kind = Kind::kEnum;
        KILN_SET(t.labels, labels(r));
        if (t.labels.empty()) return malformed("an enum needs at least one case", at);
        return t;
      case 0x6b:
        t.kind = Kind::kOption;
        t.types.resize(1);
        KILN_SET(t.types[0], value_type(r));
        return t;
      case 0x6a:
        t.kind = Kind::kResult;
        KILN_SET(t.ok, optional_value_type(r));
        KILN_SET(t.error, optional_value_type(r));
        return t;
      case 0x69:
        t.kind = Kind::kOwn;
        KILN_SET(t.resource, r.read_u32());
        return t;
      case 0x68:
        t.kind = Kind::kBorrow;
        KILN_SET(t.resource, r.read_u32());
        return t;
      case 0x66:
        t.kind = Kind::kStream;
        KILN_SET(t.ok, optional_value_type(r));
        return t;
      case 0x65:
        t.kind = Kind::kFuture;
        KILN_SET(t.ok, optional_value_type(r));
        return t;
      case 0x63:
        t.kind = Kind::kMap;
        t.types.resize(2);
        KILN_SET(t.types[0], value_type(r));
        KILN_SET(t.types[1], value_type(r));
        return t;
    }
    return bad_leading(byte, "a type definition", at);
  }

  Result<Type> type(BinaryReader& r) {
    Type t;
    t.offset = r.offset();
    KILN_ASSIGN(uint8_t byte, r.read_byte());
    switch (byte) {
      case 0x40:
      case 0x43: {
        t.kind = Type::Kind::kFunction;
        t.function.async = byte == 0x43;
        KILN_SET(t.function.params, labeled_types(r));
        const size_t at = r.offset();
        KILN_ASSIGN(uint8_t results, r.read_byte());
        if (results == 0x00) {
          KILN_SET(t.function.result, value_type(r));
        } else if (results == 0x01) {
          const size_t zero_at = r.offset();
          KILN_ASSIGN(uint8_t zero, r.read_byte());
          if (zero != 0x00) return bad_leading(zero, "an empty result list", zero_at);
        } else {
          return bad_leading(results, "a function's results", at);
        }
        return t;
      }
      case 0x41:
      case 0x42: {
        t.kind = byte == 0x41 ? Type::Kind::kComponent : Type::Kind::kInstance;
        KILN_SET(t.declarators, declarators(r, byte == 0x41));
        return t;
      }
      case 0x3f: {
        t.kind = Type::Kind::kResource;
        const size_t at = r.offset();
        KILN_ASSIGN(uint8_t rep, r.read_byte());
        // The representation is a core value type; the canonical ABI allows only i32.
        if (rep != 0x7f) return malformed("a resource's representation must be i32", at);
        t.resource.representation = ValType::kI32;
        const size_t dtor_at = r.offset();
        KILN_ASSIGN(uint8_t has_dtor, r.read_byte());
        if (has_dtor > 1) return bad_leading(has_dtor, "an optional destructor", dtor_at);
        if (has_dtor) KILN_SET(t.resource.destructor, r.read_u32());
        return t;
      }
    }
    KILN_SET(t.value, defined_value_type(r, byte, t.offset));
    return t;
  }

  Result<std::vector<Declarator>> declarators(BinaryReader& r, bool component_type) {
    if (depth_ + 1 >= kMaxNesting) {
      return Error{ErrorKind::kLimit, "types nest deeper than " + std::to_string(kMaxNesting) +
                                          " (at byte offset " + hex_offset(r.offset()) + ")"};
    }
    Decoder inner(depth_ + 1, storage_);
    std::vector<Declarator> out;
    KILN_ASSIGN(uint32_t n, read_count(r));
    reserve_for(out, n);
    for (uint32_t i = 0; i < n; ++i) {
      Declarator d;
      d.offset = r.offset();
      KILN_ASSIGN(uint8_t kind, r.read_byte());
      switch (kind) {
        case 0x00: {
          d.kind = Declarator::Kind::kCoreType;
          KILN_ASSIGN(CoreType core, inner.core_type(r, false));
          d.core_type = std::make_shared<CoreType>(std::move(core));
          break;
        }
        case 0x01: {
          d.kind = Declarator::Kind::kType;
          KILN_ASSIGN(Type type, inner.type(r));
          d.type = std::make_shared<Type>(std::move(type));
          break;
        }
        case 0x02:
          d.kind = Declarator::Kind::kAlias;
          KILN_SET(d.alias, alias(r));
          break;
        case 0x03:
          if (!component_type) return bad_leading(kind, "an instance type declarator", d.offset);
          d.kind = Declarator::Kind::kImport;
          KILN_SET(d.name, extern_name(r));
          KILN_SET(d.extern_type, extern_type(r));
          break;
        case 0x04:
          d.kind = Declarator::Kind::kExport;
          KILN_SET(d.name, extern_name(r));
          KILN_SET(d.extern_type, extern_type(r));
          break;
        default:
          return bad_leading(
              kind, component_type ? "a component type declarator" : "an instance type declarator",
              d.offset);
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  // `core:type`. Wasm 3.0's recursive and sub types (GC) are not in kiln's core language.
  Result<CoreType> core_type(BinaryReader& r, bool in_module_type) {
    CoreType t;
    t.offset = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    switch (form) {
      case 0x60:
        t.kind = CoreType::Kind::kFunction;
        KILN_SET(t.function, read_function_type(r));
        return t;
      case 0x50: {
        if (in_module_type) return malformed("a module type inside a module type", t.offset);
        if (depth_ + 1 >= kMaxNesting) {
          return Error{ErrorKind::kLimit, "types nest deeper than " + std::to_string(kMaxNesting) +
                                              " (at byte offset " + hex_offset(t.offset) + ")"};
        }
        Decoder inner(depth_ + 1, storage_);
        t.kind = CoreType::Kind::kModule;
        KILN_ASSIGN(uint32_t n, read_count(r));
        for (uint32_t i = 0; i < n; ++i) {
          CoreModuleDeclarator d;
          d.offset = r.offset();
          KILN_ASSIGN(uint8_t kind, r.read_byte());
          switch (kind) {
            case 0x00:
              d.kind = CoreModuleDeclarator::Kind::kImport;
              KILN_SET(d.import.module, r.read_name());
              KILN_SET(d.import.name, r.read_name());
              KILN_TRY(read_import_description(r, d.import));
              break;
            case 0x01: {
              d.kind = CoreModuleDeclarator::Kind::kType;
              KILN_ASSIGN(CoreType inner_type, inner.core_type(r, true));
              d.type = std::make_shared<CoreType>(std::move(inner_type));
              break;
            }
            case 0x02: {
              d.kind = CoreModuleDeclarator::Kind::kAlias;
              const size_t at = r.offset();
              KILN_ASSIGN(uint8_t sort, r.read_byte());
              if (sort != 0x10) return bad_leading(sort, "a core alias's sort", at);
              const size_t target_at = r.offset();
              KILN_ASSIGN(uint8_t target, r.read_byte());
              if (target != 0x01) return bad_leading(target, "a core alias's target", target_at);
              KILN_SET(d.outer_count, r.read_u32());
              KILN_SET(d.outer_index, r.read_u32());
              break;
            }
            case 0x03:
              d.kind = CoreModuleDeclarator::Kind::kExport;
              KILN_SET(d.export_name, r.read_name());
              KILN_TRY(read_import_description(r, d.import));
              break;
            default:
              return bad_leading(kind, "a module type declarator", d.offset);
          }
          t.declarators.push_back(std::move(d));
        }
        return t;
      }
      case 0x00: {  // 0x00 0x50: a non-final subtype (Binary.md's prefix in this position)
        const size_t sub_at = r.offset();
        KILN_ASSIGN(uint8_t sub, r.read_byte());
        if (sub != 0x50) return bad_leading(sub, "a core type after 0x00", sub_at);
        KILN_TRY(skip_gc_subtype_rest(r));
        t.kind = CoreType::Kind::kUnsupported;
        return t;
      }
      case 0x4e: {  // rec: a group of subtypes
        KILN_ASSIGN(uint32_t n, read_count(r));
        for (uint32_t i = 0; i < n; ++i) KILN_TRY(skip_gc_subtype(r));
        t.kind = CoreType::Kind::kUnsupported;
        return t;
      }
      case 0x4f:
        KILN_TRY(skip_gc_subtype_rest(r));
        t.kind = CoreType::Kind::kUnsupported;
        return t;
      case 0x5e:
      case 0x5f:
        KILN_TRY(skip_gc_composite(r, form, t.offset));
        t.kind = CoreType::Kind::kUnsupported;
        return t;
    }
    return bad_leading(form, "a core type", t.offset);
  }

  // Wasm 3.0 type definitions (core spec 5.3.6), read to their end and no further.
  static Result<void> skip_gc_subtype(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    if (form == 0x50 || form == 0x4f) return skip_gc_subtype_rest(r);
    return skip_gc_composite(r, form, at);
  }
  // After `sub` or `sub final`: supertypes, then a composite type.
  static Result<void> skip_gc_subtype_rest(BinaryReader& r) {
    KILN_ASSIGN(uint32_t n, read_count(r));
    for (uint32_t i = 0; i < n; ++i) KILN_TRY(r.read_u32());
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t form, r.read_byte());
    return skip_gc_composite(r, form, at);
  }
  static Result<void> skip_gc_composite(BinaryReader& r, uint8_t form, size_t at) {
    switch (form) {
      case 0x5e:  // array: one field
        return skip_gc_field(r);
      case 0x5f: {  // struct
        KILN_ASSIGN(uint32_t n, read_count(r));
        for (uint32_t i = 0; i < n; ++i) KILN_TRY(skip_gc_field(r));
        return {};
      }
      case 0x60: {  // func
        for (int list = 0; list < 2; ++list) {
          KILN_ASSIGN(uint32_t n, read_count(r));
          for (uint32_t i = 0; i < n; ++i) KILN_TRY(skip_gc_value_type(r));
        }
        return {};
      }
    }
    return bad_leading(form, "a core composite type", at);
  }
  static Result<void> skip_gc_field(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t byte, r.read_byte());
    if (byte != 0x78 && byte != 0x77) {  // not a packed i8 or i16: a value type
      BinaryReader again(std::span<const uint8_t>(r.cursor() - 1, r.remaining() + 1), at);
      KILN_TRY(skip_gc_value_type(again));
      KILN_TRY(r.read_bytes(again.position() - 1));
    }
    const size_t mut_at = r.offset();
    KILN_ASSIGN(uint8_t mut, r.read_byte());
    if (mut > 1) return bad_leading(mut, "a field's mutability", mut_at);
    return {};
  }
  // A value type with Wasm 3.0's reference types: (ref null? heaptype), abstract heap types.
  static Result<void> skip_gc_value_type(BinaryReader& r) {
    const size_t at = r.offset();
    KILN_ASSIGN(uint8_t byte, r.read_byte());
    if ((byte >= 0x7b && byte <= 0x7f) || (byte >= 0x69 && byte <= 0x74)) return {};
    if (byte == 0x63 || byte == 0x64) {  // ref null ht, ref ht
      KILN_ASSIGN(int64_t heap, r.read_s33());
      if (heap < 0 && !(heap >= -0x17 && heap <= -0x0b)) {
        return malformed("malformed heap type", at + 1);
      }
      return {};
    }
    return bad_leading(byte, "a core value type", at);
  }

  // `unsupported` names the first option kiln does not support (the async ABI's).
  static Result<CanonOptions> canon_options(BinaryReader& r, std::string& unsupported) {
    CanonOptions o;
    KILN_ASSIGN(uint32_t n, read_count(r));
    for (uint32_t i = 0; i < n; ++i) {
      const size_t at = r.offset();
      KILN_ASSIGN(uint8_t kind, r.read_byte());
      auto index = [&](std::optional<uint32_t>& slot, const char* what) -> Result<void> {
        if (slot)
          return malformed(std::string("the canonical option ") + what + " given twice", at);
        KILN_SET(slot, r.read_u32());
        return {};
      };
      switch (kind) {
        case 0x00:
        case 0x01:
        case 0x02:
          if (o.string_encoding) return malformed("more than one string encoding", at);
          o.string_encoding = static_cast<CanonOptions::StringEncoding>(kind);
          break;
        case 0x03:
          KILN_TRY(index(o.memory, "memory"));
          break;
        case 0x04:
          KILN_TRY(index(o.realloc, "realloc"));
          break;
        case 0x05:
          KILN_TRY(index(o.post_return, "post-return"));
          break;
        case 0x06:
          if (o.async) return malformed("the canonical option async given twice", at);
          o.async = true;
          if (unsupported.empty()) unsupported = "the canonical option async";
          break;
        case 0x07:
          KILN_TRY(index(o.callback, "callback"));
          if (unsupported.empty()) unsupported = "the canonical option callback";
          break;
        default:
          return bad_leading(kind, "a canonical option", at);
      }
    }
    return o;
  }

  static Result<Canon> canon(BinaryReader& r) {
    Canon c;
    c.offset = r.offset();
    KILN_ASSIGN(uint8_t kind, r.read_byte());
    auto sort_byte = [&](const char* what) -> Result<void> {
      const size_t at = r.offset();
      KILN_ASSIGN(uint8_t zero, r.read_byte());
      if (zero != 0x00) return bad_leading(zero, what, at);
      return {};
    };
    switch (kind) {
      case 0x00:
        c.kind = Canon::Kind::kLift;
        KILN_TRY(sort_byte("canon lift's core func sort"));
        KILN_SET(c.function, r.read_u32());
        KILN_SET(c.options, canon_options(r, c.unsupported));
        KILN_SET(c.type, r.read_u32());
        return c;
      case 0x01:
        c.kind = Canon::Kind::kLower;
        KILN_TRY(sort_byte("canon lower's func sort"));
        KILN_SET(c.function, r.read_u32());
        KILN_SET(c.options, canon_options(r, c.unsupported));
        return c;
      case 0x02:
      case 0x03:
      case 0x04:
        c.kind = kind == 0x02   ? Canon::Kind::kResourceNew
                 : kind == 0x03 ? Canon::Kind::kResourceDrop
                                : Canon::Kind::kResourceRep;
        KILN_SET(c.type, r.read_u32());
        return c;
    }
    // Binary.md's other canonical built-ins: the async ABI (task.*, subtask.*, stream.*,
    // future.*, waitable*, backpressure.*, context.*, error-context.*) and threads (thread.*).
    // Their operands are read so that decoding goes on; the validator refuses them.
    c.kind = Canon::Kind::kUnsupported;
    c.unsupported =
        "the canonical built-in " + hex_offset(kind) + " (component-model async or threads)";
    std::string ignored;
    auto u32 = [&]() -> Result<void> {
      KILN_TRY(r.read_u32());
      return {};
    };
    auto flag = [&](const char* what) -> Result<void> {
      const size_t at = r.offset();
      KILN_ASSIGN(uint8_t b, r.read_byte());
      if (b > 1) return bad_leading(b, what, at);
      return {};
    };
    switch (kind) {
      case 0x24:
      case 0x25:
      case 0x05:
      case 0x0d:
      case 0x1e:
      case 0x1f:
      case 0x22:
      case 0x23:
      case 0x26:
      case 0x28:
        return c;
      case 0x09: {  // task.return: a result list and options
        const size_t at = r.offset();
        KILN_ASSIGN(uint8_t results, r.read_byte());
        if (results == 0x00) {
          KILN_TRY(value_type(r));
        } else if (results == 0x01) {
          KILN_TRY(flag("an empty result list"));
        } else {
          return bad_leading(results, "task.return's results", at);
        }
        KILN_TRY(canon_options(r, ignored));
        return c;
      }
      case 0x0a:
      case 0x0b: {  // context.get/set: a core value type (i32) and an index
        KILN_TRY(r.read_byte());
        KILN_TRY(u32());
        return c;
      }
      case 0x06:
      case 0x0c:
      case 0x29:
      case 0x2a:
      case 0x2b:
      case 0x2c:
      case 0x2d:
        KILN_TRY(flag("an async or cancellable flag"));
        return c;
      case 0x0e:
      case 0x13:
      case 0x14:
      case 0x15:
      case 0x1a:
      case 0x1b:
        KILN_TRY(u32());
        return c;
      case 0x0f:
      case 0x10:
      case 0x16:
      case 0x17:
        KILN_TRY(u32());
        KILN_TRY(canon_options(r, ignored));
        return c;
      case 0x11:
      case 0x12:
      case 0x18:
      case 0x19:
        KILN_TRY(u32());
        KILN_TRY(flag("an async flag"));
        return c;
      case 0x1c:
      case 0x1d:
        KILN_TRY(canon_options(r, ignored));
        return c;
      case 0x20:
      case 0x21:
        KILN_TRY(flag("a cancellable flag"));
        KILN_TRY(u32());
        return c;
      case 0x27:
        KILN_TRY(u32());
        KILN_TRY(u32());
        return c;
      case 0x40:
        KILN_TRY(flag("a shared flag"));
        KILN_TRY(u32());
        return c;
      case 0x41:
        KILN_TRY(flag("a shared flag"));
        KILN_TRY(u32());
        KILN_TRY(u32());
        return c;
      case 0x42:
        KILN_TRY(flag("a shared flag"));
        return c;
    }
    return bad_leading(kind, "a canonical definition", c.offset);
  }

  uint32_t depth_;
  // The binary being decoded, which its core modules view (Module::storage).
  std::shared_ptr<const std::vector<uint8_t>> storage_;
};

}  // namespace

Result<std::unique_ptr<Component>> decode_component(std::span<const uint8_t> bytes) {
  return decode_component(std::make_shared<const std::vector<uint8_t>>(bytes.begin(), bytes.end()));
}

Result<std::unique_ptr<Component>> decode_component(
    std::shared_ptr<const std::vector<uint8_t>> bytes) {
  BinaryReader r(*bytes);
  Decoder decoder(0, bytes);
  return decoder.component(r);
}

}  // namespace kiln::component
