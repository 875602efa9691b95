;; Tables that start empty and grow by a guest-chosen delta (tests/hardening_test.cpp).
(module $hostile_table_grow
  (table $a 0 funcref) (table $b 0 funcref)
  (memory 1)
  (func (export "grow") (param i32) (result i32)
    ref.null func
    local.get 0
    table.grow $a)
  (func (export "grow_b") (param i32) (result i32)
    ref.null func
    local.get 0
    table.grow $b)
  (func (export "grow_memory") (param i32) (result i32)
    local.get 0
    memory.grow))
