;; table.c's module: a table of 2 function references (at most 4), filled with $double and
;; $square; `apply` calls the element at an index.
(module
  (type $unary (func (param i32) (result i32)))
  (table (export "table") 2 4 funcref)
  (elem (i32.const 0) $double $square)
  (func $double (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))
  (func (export "apply") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0))))
