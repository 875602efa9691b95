;; Wasm 3.0 multi-memory (tests/multi_memory_test.cpp): every memory instruction on a memory
;; other than memory 0, next to code that uses memory 0 only (which the JIT compiles).
(module
  (memory $zero 1)
  (memory $one (export "one") 1 3)
  (data (memory $one) (i32.const 16) "one")
  (data $passive "passive")
  (data (i32.const 16) "zero")

  ;; memory 0 only: compiled by the JIT
  (func (export "load0") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store0") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))

  (func (export "load1") (param i32) (result i32) (i32.load8_u $one (local.get 0)))
  (func (export "store1") (param i32 i32) (i32.store8 $one (local.get 0) (local.get 1)))
  ;; a load of memory 1 between two of memory 0, with offsets and the loaded value reused
  (func (export "mixed") (param i32) (result i32)
    (i32.add
      (i32.add (i32.load8_u offset=1 (local.get 0)) (i32.load8_u $one offset=1 (local.get 0)))
      (i32.load8_u (local.get 0))))
  (func (export "size1") (result i32) (memory.size $one))
  (func (export "grow1") (param i32) (result i32) (memory.grow $one (local.get 0)))
  (func (export "size0") (result i32) (memory.size $zero))
  (func (export "fill1") (param i32 i32 i32) (memory.fill $one (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init1") (param i32 i32 i32)
    (memory.init $one $passive (local.get 0) (local.get 1) (local.get 2)))
  ;; memory.copy from memory 0 to memory 1, and within memory 1
  (func (export "copy0to1") (param i32 i32 i32)
    (memory.copy $one $zero (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy1") (param i32 i32 i32)
    (memory.copy $one $one (local.get 0) (local.get 1) (local.get 2)))
  ;; v128 from memory 1: the low 8 bytes as an i64
  (func (export "v128_load1") (param i32) (result i64)
    (i64x2.extract_lane 0 (v128.load $one (local.get 0))))
  ;; a loop summing bytes of memory 1 (the sandwich around each load in a hot loop)
  (func (export "sum1") (param $from i32) (param $n i32) (result i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (i32.load8_u $one (local.get $from))))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)
