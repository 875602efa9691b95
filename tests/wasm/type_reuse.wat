;; Two function types, one of them a host import's, and call_indirect through each (type_registry_test.cpp:
;; the engine's type ids are handed out again once no module or store uses them).
(module
  (type $i64_to_i64 (func (param i64) (result i64)))
  (type $f32_to_f64 (func (param f32) (result f64)))
  (import "host" "widen" (func $widen (type $f32_to_f64)))
  (table 2 funcref)
  (elem (i32.const 0) $double $widen)
  (func $double (type $i64_to_i64) (i64.mul (local.get 0) (i64.const 2)))
  (func (export "call_i64") (param i64 i32) (result i64)
    (call_indirect (type $i64_to_i64) (local.get 0) (local.get 1)))
  (func (export "call_f32") (param f32 i32) (result f64)
    (call_indirect (type $f32_to_f64) (local.get 0) (local.get 1))))
