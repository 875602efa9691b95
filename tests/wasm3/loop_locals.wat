;; Locals the JIT keeps in registers while a loop runs (CodeGenerator::pin_loop_locals): each
;; loop outside every other loop has its own hot locals, loaded at its header and written back
;; to their cells at its end, before calls and throws, and on every branch out of it
;; (tests/loop_locals_test.cpp). Each function but the last has two such loops, so none keeps
;; its locals in registers from entry to return.
(module $loop_locals
  (memory 1)
  (tag $stop (param i32))
  (func $bump (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  ;; Throws $stop with its argument when that is a multiple of 4.
  (func $throw_on_fours (param i32)
    (if (i32.eqz (i32.and (local.get 0) (i32.const 3)))
      (then (throw $stop (local.get 0)))))

  ;; Two loops with different hot locals: the second reads the first's results ($a) and sets
  ;; an i64 and an f64 of its own. $w counts the loops' iterations in memory, through an
  ;; address in a register.
  (func (export "two_loops") (param $n i32) (result i64)
    (local $i i32) (local $a i32) (local $j i32) (local $b i64) (local $x f64) (local $w i32)
    (loop $first
      (local.set $a (i32.add (i32.mul (local.get $a) (i32.const 3)) (local.get $i)))
      (i32.store (local.get $w) (i32.add (i32.load (local.get $w)) (i32.const 1)))
      (br_if $first (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $b (i64.extend_i32_u (local.get $a)))
    (local.set $w (i32.const 4))
    (loop $second
      (local.set $b (i64.add (i64.mul (local.get $b) (i64.const 7))
                             (i64.extend_i32_u (i32.xor (local.get $a) (local.get $j)))))
      (local.set $x (f64.add (local.get $x) (f64.const 0.5)))
      (i32.store (local.get $w) (i32.add (i32.load (local.get $w)) (i32.const 1)))
      (br_if $second (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $n))))
    (i64.add (i64.add (local.get $b) (i64.extend_i32_u (local.get $i)))
             (i64.add (i64.trunc_f64_s (local.get $x))
                      (i64.extend_i32_u (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4)))))))

  ;; Leaves its second loop, once $i reaches $n, the way $how names: 0 by br_if with a value,
  ;; 1 by br_if, 2 by br_table to a block outside the loop, 3 by br_table to another one.
  (func (export "leave") (param $n i32) (param $how i32) (result i32)
    (local $i i32) (local $s i32) (local $w i32)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 3))))
    (block $by_table
      (block $by_br
        (local.set $s
          (i32.add (local.get $s)
            (block $by_br_if (result i32)
              (loop $again
                (local.set $s (i32.add (local.get $s) (i32.add (local.get $i) (i32.const 1))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $again (i32.lt_u (local.get $i) (local.get $n)))
                (br_if $by_br_if (i32.const 1000) (i32.eqz (local.get $how)))
                (br_if $by_br (i32.eq (local.get $how) (i32.const 1)))
                (br_table $by_table $by_br (i32.sub (local.get $how) (i32.const 2))))
              (unreachable))))
        (return (i32.add (local.get $s) (local.get $w))))
      (return (i32.add (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 100000)))
                       (local.get $w))))
    (i32.add (i32.sub (local.get $s) (local.get $i)) (local.get $w)))

  ;; Calls inside the loop: $s is set in the loop (written back before each call), $k only
  ;; read (its cell is current all along); both are loaded again after the call.
  (func (export "calls") (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $s i32) (local $w i32)
    (local.set $k (i32.const 7))
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (loop $top
      (local.set $s (i32.add (call $bump (local.get $s)) (local.get $k)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (i32.add (local.get $s) (local.get $i)) (local.get $w)))

  ;; A throw in the loop caught outside it: the catch reads the loop's locals from their cells.
  (func (export "throw_out") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $w i32)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (i32.add
      (block $caught (result i32)
        (try_table (catch $stop $caught)
          (loop $top
            (local.set $s (i32.add (local.get $s) (i32.const 3)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (if (i32.ge_u (local.get $i) (local.get $n)) (then (throw $stop (local.get $i))))
            (br $top)))
        (i32.const -1))
      (i32.add (i32.mul (local.get $s) (i32.const 10)) (local.get $w))))

  ;; Throws from a callee caught inside the loop: the catch goes on with the loop's locals.
  (func (export "catch_inside") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $c i32) (local $w i32)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (loop $top
      (local.set $c
        (i32.add (local.get $c)
          (block $caught (result i32)
            (try_table (catch $stop $caught)
              (call $throw_on_fours (local.get $i)))
            (i32.const 0))))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (i32.add (i32.mul (local.get $c) (i32.const 1000)) (local.get $s)) (local.get $w)))

  ;; Float operators, a comparison and a select whose operands are locals in registers: each
  ;; reads them where they are, and they keep their values.
  (func (export "floats") (param $n i32) (result f64)
    (local $i i32) (local $a f64) (local $b f64) (local $c f64) (local $w i32)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (local.set $a (f64.const 1.3))
    (local.set $b (f64.const 0.25))
    (loop $top
      (local.set $c (f64.add (local.get $c) (f64.div (local.get $a) (local.get $b))))
      (local.set $a (f64.sub (local.get $a) (f64.mul (local.get $b) (f64.const 0.5))))
      (local.set $b (select (local.get $b) (local.get $a) (f64.lt (local.get $b) (local.get $a))))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (f64.add (local.get $c) (f64.add (local.get $a) (local.get $b))))

  ;; A loop without calls whose operand stack stays shallow: more of its locals get registers
  ;; (5 general and 10 float here, against 3 and 6 in a loop with calls).
  (func (export "many") (param $n i32) (result f64)
    (local $i i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $w i32)
    (local $f0 f64) (local $f1 f64) (local $f2 f64) (local $f3 f64) (local $f4 f64)
    (local $f5 f64) (local $f6 f64) (local $f7 f64) (local $f8 f64) (local $f9 f64)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (loop $top
      (local.set $a (i32.add (local.get $a) (local.get $i)))
      (local.set $b (i32.xor (local.get $b) (local.get $a)))
      (local.set $c (i32.sub (local.get $c) (local.get $b)))
      (local.set $d (i32.add (local.get $d) (local.get $c)))
      (local.set $f0 (f64.add (local.get $f0) (f64.const 1)))
      (local.set $f1 (f64.add (local.get $f1) (local.get $f0)))
      (local.set $f2 (f64.add (local.get $f2) (local.get $f1)))
      (local.set $f3 (f64.add (local.get $f3) (local.get $f2)))
      (local.set $f4 (f64.add (local.get $f4) (local.get $f3)))
      (local.set $f5 (f64.add (local.get $f5) (local.get $f4)))
      (local.set $f6 (f64.add (local.get $f6) (local.get $f5)))
      (local.set $f7 (f64.add (local.get $f7) (local.get $f6)))
      (local.set $f8 (f64.add (local.get $f8) (local.get $f7)))
      (local.set $f9 (f64.add (local.get $f9) (local.get $f8)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (f64.add (local.get $f9)
             (f64.convert_i32_u (i32.add (i32.add (local.get $a) (local.get $b))
                                         (i32.add (local.get $c) (local.get $d))))))

;; A loop with calls whose inner loop uses more locals than a loop with calls keeps in
  ;; registers when its uses do not outweigh its calls (3 general, 6 float): here they do, so
  ;; all of them get registers, saved before each call and reloaded after it. $k is only read
  ;; in the loop; $e and $f7 are set from the calls' results.
  (func (export "calls_around_inner_loop") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $k i32) (local $w i32)
    (local $f0 f64) (local $f1 f64) (local $f2 f64) (local $f3 f64) (local $f4 f64)
    (local $f5 f64) (local $f6 f64) (local $f7 f64)
    (local.set $k (i32.add (local.get $n) (i32.const 11)))
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $a (i32.add (local.get $a) (i32.add (local.get $j) (local.get $k))))
        (local.set $b (i32.xor (local.get $b) (local.get $a)))
        (local.set $c (i32.add (i32.mul (local.get $c) (i32.const 3)) (local.get $b)))
        (local.set $d (i32.add (local.get $d) (i32.shr_u (local.get $c) (i32.const 3))))
        (local.set $e (i32.sub (local.get $e) (local.get $d)))
        (local.set $f0 (f64.add (f64.mul (local.get $f0) (f64.const 0.5))
                                (f64.convert_i32_u (i32.and (local.get $a) (i32.const 255)))))
        (local.set $f1 (f64.add (f64.mul (local.get $f1) (f64.const 0.5)) (local.get $f0)))
        (local.set $f2 (f64.add (f64.mul (local.get $f2) (f64.const 0.5)) (local.get $f1)))
        (local.set $f3 (f64.add (f64.mul (local.get $f3) (f64.const 0.5)) (local.get $f2)))
        (local.set $f4 (f64.add (f64.mul (local.get $f4) (f64.const 0.5)) (local.get $f3)))
        (local.set $f5 (f64.add (f64.mul (local.get $f5) (f64.const 0.5)) (local.get $f4)))
        (local.set $f6 (f64.add (f64.mul (local.get $f6) (f64.const 0.5)) (local.get $f5)))
        (local.set $f7 (f64.add (f64.mul (local.get $f7) (f64.const 0.5)) (local.get $f6)))
        (br_if $inner (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $n))))
      (local.set $e (call $bump (local.get $e)))
      (local.set $f7 (f64.add (local.get $f7) (f64.convert_i32_u (call $bump (local.get $a)))))
      (br_if $outer (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4))))
    (i64.add
      (i64.extend_i32_u (i32.add (i32.add (local.get $a) (local.get $b))
                                 (i32.add (local.get $c) (i32.add (local.get $d) (local.get $e)))))
      (i64.trunc_f64_s (f64.add (f64.add (f64.add (local.get $f0) (local.get $f1))
                                         (f64.add (local.get $f2) (local.get $f3)))
                                (f64.add (f64.add (local.get $f4) (local.get $f5))
                                         (f64.add (local.get $f6) (local.get $f7)))))))

  ;; One loop: its locals stay in registers from entry to return. $k (one of the three hottest,
  ;; as $i and $s) is set before the loop and only read in it, around a call: the call must not
  ;; lose it.
  (func (export "one_loop") (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $s i32)
    (local.set $k (i32.add (local.get $n) (i32.const 5)))
    (loop $top
      (local.set $s (i32.add (call $bump (i32.add (local.get $s) (local.get $k))) (local.get $k)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (local.get $s) (local.get $k)))

  ;; One loop with a call: $k, set before it and only read in it, is stored to its cell once on
  ;; the way in and not before each call (CodeGenerator::enter_function_loop). Leaving the loop
  ;; by a branch ($out, once $i reaches 100) or at its end, every local is stored before a call
  ;; again: $k is set after the loop, then a call.
  (func (export "one_loop_exits") (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $s i32)
    (local.set $k (i32.add (local.get $n) (i32.const 5)))
    (block $out
      (loop $top
        (local.set $s (i32.add (call $bump (i32.add (local.get $s) (local.get $k))) (local.get $k)))
        (br_if $out (i32.eq (local.get $i) (i32.const 100)))
        (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
    (local.set $k (i32.mul (local.get $k) (i32.const 3)))
    (local.set $s (call $bump (local.get $s)))
    (i32.add (local.get $s) (local.get $k)))

  ;; Operators whose result the next instruction sets into a local kept in a register are
  ;; computed straight into that register (CodeGenerator::next_sets_pinned_local): with the
  ;; local as the first operand, as the second (operands swapped when the operator commutes,
  ;; not otherwise, and never for floats), as both, with a read of its old value still pending
  ;; on the stack, and with the other operand computed from the local; and a load, at an address
  ;; in the same local; selects (the local as the first operand, the second, the condition) and
  ;; comparisons (set and tee), float unary operators, a float comparison and conversions. The
  ;; loop's stores stay in memory from one call to the next.
  (func (export "into_locals") (param $n i32) (result i64)
    (local $i i32) (local $x i32) (local $y i32) (local $z i64) (local $f f64) (local $g f64)
    (local $w i32) (local $h f64)
    (loop $warm
      (br_if $warm (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 1))) (i32.const 2))))
    (local.set $y (i32.const 7))
    (local.set $g (f64.const 1.5))
    (loop $top
      (local.set $x (i32.sub (local.get $y) (local.get $x)))
      (local.set $x (i32.add (local.get $y) (local.get $x)))
      (local.set $x (i32.shl (local.get $x) (i32.and (local.get $i) (i32.const 3))))
      (local.set $y (i32.shr_u (i32.const -1) (i32.and (local.get $y) (i32.const 7))))
      (local.set $y (i32.add (local.get $y)
                             (i32.sub (local.get $x)
                                      (local.tee $x (i32.add (local.get $x) (i32.const 5))))))
      (local.set $x (i32.mul (local.get $x) (local.get $x)))
      (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 7))))
      (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfc)) (local.get $y))
      (local.set $w (i32.and (local.get $x) (i32.const 0xfc)))
      (local.set $w (i32.load (local.get $w)))
      (local.set $x (i32.add (local.get $x) (local.get $w)))
      (local.set $x (select (local.get $x) (local.get $y) (i32.and (local.get $i) (i32.const 1))))
      (local.set $y (select (local.get $x) (local.get $y) (i32.and (local.get $i) (i32.const 2))))
      (local.set $w (select (i32.const 3) (i32.const 9) (local.get $w)))
      (local.set $f (select (local.get $g) (local.get $f) (i32.and (local.get $i) (i32.const 4))))
      (local.set $g (select (local.get $g) (f64.const 1.75) (i32.and (local.get $x) (i32.const 3))))
      (local.set $w (i32.lt_u (local.get $w) (i32.const 5)))
      (local.set $y (i32.add (local.get $y) (local.tee $w (i32.gt_s (local.get $x) (local.get $w)))))
      (local.set $z (i64.add (local.get $z) (i64.extend_i32_u (local.get $x))))
      (local.set $z (i64.rotl (i64.const 0x123456789) (local.get $z)))
      (local.set $f (f64.sub (local.get $g) (local.get $f)))
      (local.set $f (f64.mul (local.get $f) (local.get $g)))
      (local.set $g (f64.add (f64.const 0.25) (local.get $g)))
      (local.set $f (f64.div (f64.add (local.get $f) (f64.convert_i32_u (local.get $i)))
                             (local.get $g)))
      (local.set $g (f64.neg (local.get $g)))
      (local.set $g (f64.abs (local.get $g)))
      (local.set $h (f64.sqrt (local.get $g)))
      (local.set $f (f64.add (local.get $f) (local.get $h)))
      (local.set $w (f64.lt (local.get $f) (local.get $g)))
      (local.set $y (i32.add (local.get $y) (local.get $w)))
      (local.set $h (f64.convert_i32_u (local.get $w)))
      (local.set $x (i32.wrap_i64 (local.get $z)))
      (local.set $w (i32.shl (i32.and (local.get $x) (i32.const 0xff)) (i32.const 2)))
      (local.set $y (i32.add (local.get $y) (local.get $w)))
      (local.set $f (f64.add (local.get $f) (local.get $h)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.add (i64.add (local.get $z) (i64.extend_i32_u (i32.add (local.get $x) (local.get $y))))
             (i64.trunc_sat_f64_s (f64.mul (local.get $f) (f64.const 1000)))))

  ;; Subtracting (and adding) the most negative constants from locals kept in registers: x64
  ;; computes a - k into a new register as lea with -k, which INT64_MIN does not have (its
  ;; negation overflowed in the code generator: undefined behaviour, caught by UBSan) and
  ;; INT32_MIN's does not fit 32 bits.
  (func (export "most_negative") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $c i32) (local $i i32)
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $c (local.get $n))
    (loop $top
      (local.set $b (i64.add (local.get $b)
                             (i64.sub (local.get $a) (i64.const -9223372036854775808))))
      (local.set $b (i64.add (local.get $b)
                             (i64.add (local.get $a) (i64.const -9223372036854775808))))
      (local.set $c (i32.sub (local.get $c) (i32.const -2147483648)))
      (local.set $b (i64.add (local.get $b) (i64.extend_i32_u (local.get $c))))
      (local.set $a (i64.sub (local.get $a) (i64.const -2147483648)))
      (br_if $top (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.add (local.get $b) (local.get $a)))
)
