;; Loops that run long in a function called once: the auto tier's interpreter hands such a frame
;; over to machine code at a loop header (on-stack replacement; tests/mixed_tier_test.cpp).
(module $hot_loops
  (memory 1)
  (global $g (mut i32) (i32.const 0))
  ;; More locals than the JIT pins (3 general, 6 float): some live in registers, some in their
  ;; cells, all handed over from the interpreter's cells.
  (func $mix (export "mix") (param $n i32) (result i64)
    (local $i i32) (local $a i64) (local $b i32) (local $c i32) (local $d i64) (local $x f64)
    (local.set $a (i64.const 7))
    (local.set $x (f64.const 0.5))
    (loop $top
      (local.set $a (i64.add (i64.mul (local.get $a) (i64.const 31)) (i64.extend_i32_u (local.get $i))))
      (local.set $b (i32.xor (local.get $b) (i32.wrap_i64 (local.get $a))))
      (local.set $c (i32.add (local.get $c) (i32.const 3)))
      (local.set $d (i64.sub (local.get $d) (i64.extend_i32_s (local.get $c))))
      (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 1.0001)) (f64.const 0.25)))
      (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 1020)) (local.get $b))
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.add (i64.add (i64.add (local.get $a) (i64.extend_i32_u (local.get $b)))
                      (i64.add (local.get $d) (i64.trunc_f64_s (local.get $x))))
             (i64.add (i64.extend_i32_u (i32.load (i32.const 40)))
                      (i64.extend_i32_u (global.get $g)))))
  ;; Nested loops: the inner one gets hot first; the outer one goes on in machine code.
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $s i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 3)) (local.get $j)))
        (br_if $inner (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (i32.const 50))))
      (br_if $outer (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $s))
  ;; Two loops, each with locals of its own in registers under the JIT: the hand-over comes in
  ;; the second, whose entry loads the second loop's.
  (func (export "second_loop") (param $n i32) (result i32)
    (local $i i32) (local $a i32) (local $j i32) (local $b i32) (local $c i32)
    (loop $first
      (local.set $a (i32.add (local.get $a) (i32.const 2)))
      (br_if $first (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 10))))
    (loop $second
      (local.set $b (i32.add (i32.mul (local.get $b) (i32.const 5)) (local.get $j)))
      (local.set $c (i32.xor (local.get $c) (local.get $b)))
      (br_if $second (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $n))))
    (i32.add (i32.add (local.get $a) (local.get $b)) (i32.add (local.get $c) (local.get $i))))
  ;; A loop that runs `n` iterations, then an access out of bounds, below two callers: the trap
  ;; comes from the machine code the frame went on in, and its backtrace names each frame once.
  (func $fault (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $top
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (local.get $s) (i32.load (i32.const 65536))))
  (func $fault_caller (param i32) (result i32) (i32.add (call $fault (local.get 0)) (i32.const 1)))
  (func (export "fault") (param i32) (result i32) (call $fault_caller (local.get 0)))
  ;; Recursion whose frames each run a loop: hand-overs in the middle of interpreted frames.
  (func $deep (export "deep") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (loop $top
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (local.get $n))))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 40))))
    (if (result i32) (local.get $n)
      (then (i32.add (local.get $s) (call $deep (i32.sub (local.get $n) (i32.const 1)))))
      (else (local.get $s))))
  ;; A loop with a value on the operand stack around it: no hand-over there, so the function is
  ;; compiled at its first call.
  (func (export "stacked") (param $n i32) (result i32)
    (local $i i32)
    (i32.add (i32.const 1000)
      (loop $top (result i32)
        (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))
        (local.get $i))))
  ;; Runs until the fuel or the deadline stops it.
  (func (export "spin") (local $i i32)
    (loop $top
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
)
