;; Wasm 3.0 exception handling (tests/exception_handling_test.cpp): throw, throw_ref and
;; try_table's four catch clauses, across calls, recursion, host functions and both tiers.
(module
  (import "host" "call_back" (func $call_back (param i32) (result i32)))
  (tag $small (export "small") (param i32))
  (tag $other (param i32))
  (tag $wide (param v128 i64))
  (global $kept (mut exnref) (ref.null exn))

  ;; A thrower the JIT compiles around: `relay` only calls (no try_table, no throw).
  (func $throw_small (export "throw_small") (param i32)
    (throw $small (local.get 0)))
  (func $relay (export "relay") (param i32) (result i32)
    (call $throw_small (local.get 0))
    (i32.const -1))

  ;; catch: the payload arrives at the label; locals set before the throw are kept.
  (func $catch_payload (export "catch_payload") (param i32) (result i32)
    (local $before i32)
    (local.set $before (i32.const 1000))
    (block $caught (result i32)
      (try_table (catch $small $caught)
        (drop (call $relay (local.get 0))))
      (i32.const -1)
      (return))
    (i32.add (local.get $before)))

  ;; An exception of another tag passes the inner try_table to the outer one.
  (func $outer_catches_other (export "outer_catches_other") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $other $outer)
        (block $inner (result i32)
          (try_table (catch $small $inner)
            (throw $other (local.get 0)))
          (unreachable))
        (drop))
      (return (i32.const -2)))
    (i32.const 10)
    (i32.mul))

  ;; catch_ref then throw_ref: the same exception (same payload) is caught again outside.
  (func $rethrow (export "rethrow") (param i32) (result i32)
    (block $outer (result i32)
      (try_table (catch $small $outer)
        (block $inner (result i32 exnref)
          (try_table (catch_ref $small $inner)
            (call $throw_small (local.get 0)))
          (unreachable))
        (throw_ref)
        (drop))
      (i32.const -1)))

  ;; catch_all and catch_all_ref: nothing, or only the reference.
  (func $catch_all (export "catch_all") (param i32) (result i32)
    (block $all
      (try_table (catch_all $all)
        (call $throw_small (local.get 0)))
      (return (i32.const -1)))
    (i32.const 7))
  (func $catch_all_ref_is_not_null (export "catch_all_ref_is_not_null") (param i32) (result i32)
    (block $all (result exnref)
      (try_table (catch_all_ref $all)
        (throw $other (local.get 0)))
      (unreachable))
    (ref.is_null)
    (i32.eqz))

  ;; Deep recursion thrown out of at the bottom, caught at the top.
  (func $dive (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $small (i32.const 42))))
    (call $dive (i32.sub (local.get 0) (i32.const 1))))
  (func $deep (export "deep") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $small $h) (call $dive (local.get 0)))
      (i32.const -1)))

  ;; A catch whose label is a loop: retry until the thrower stops throwing.
  (func $retry (export "retry") (param i32) (result i32)
    (local $attempts i32)
    (loop $again
      (local.set $attempts (i32.add (local.get $attempts) (i32.const 1)))
      (try_table (catch_all $again)
        (if (i32.lt_u (local.get $attempts) (local.get 0))
          (then (throw $small (local.get $attempts))))))
    (local.get $attempts))

  ;; A catch whose label is the function's own: the payload is the result.
  (func $catch_returns (export "catch_returns") (param i32) (result i32)
    (try_table (catch $small 0)
      (call $throw_small (local.get 0)))
    (i32.const -1))

  ;; A two-cell payload: returns the v128's high lane plus the i64.
  (func $wide (export "wide") (param i64) (result i64)
    (block $h (result v128 i64)
      (try_table (catch $wide $h)
        (throw $wide (v128.const i64x2 5 6) (local.get 0)))
      (unreachable))
    (local.set 0)
    (i64x2.extract_lane 1)
    (local.get 0)
    (i64.add))

  ;; Through the host: wasm -> host -> wasm (throws) -> host passes it on -> caught here.
  (func $through_host (export "through_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $small $h)
        (drop (call $call_back (local.get 0))))
      (i32.const -1)))

  ;; Uncaught, and throw_ref of null.
  (func $uncaught (export "uncaught") (param i32) (throw $small (local.get 0)))
  (func $throw_null (export "throw_null") (throw_ref (ref.null exn)))

  ;; Throws and catches `n` times; with `keep`, each catch takes the reference (so the
  ;; exception must be kept: kiln has no collector) and the last is held in a global.
  (func $many (export "many") (param $n i32) (param $keep i32) (result i32)
    (local $caught i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (if (local.get $keep)
          (then
            (block $h (result i32 exnref)
              (try_table (catch_ref $small $h) (call $throw_small (local.get $n)))
              (unreachable))
            (global.set $kept)
            (drop))
          (else
            (block $h (result i32)
              (try_table (catch $small $h) (call $throw_small (local.get $n)))
              (unreachable))
            (drop)))
        (local.set $caught (i32.add (local.get $caught) (i32.const 1)))
        (br $next)))
    (local.get $caught))
)
