;; Table lookups whose address is `base + (index << k)` with a small index (a mask, a narrow
;; load, a shift right, or a bitwise operator of those): the JIT puts the sum into the load's
;; addressing when base + index << k cannot wrap past 2^32, and computes it as i32.add does when
;; it can (tests/scaled_address_test.cpp).
(module
  (memory (export "memory") 1)
  ;; (x & 255) << 2, the crc32 table lookup.
  (func (export "load_masked") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 255
    i32.and
    i32.const 2
    i32.shl
    i32.add
    i32.load)
  ;; The same with a memarg offset.
  (func (export "load_masked_offset") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 255
    i32.and
    i32.const 2
    i32.shl
    i32.add
    i32.load offset=1000)
  ;; ((load8_u at p) ^ (x & 255)) << 3 as an i64 index, and the same for f64 and f32 (<< 2),
  ;; and a narrow load (<< 1).
  (func (export "load_i64") (param $base i32) (param $x i32) (param $p i32) (result i64)
    local.get $base
    local.get $p
    i32.load8_u
    local.get $x
    i32.const 255
    i32.and
    i32.xor
    i32.const 3
    i32.shl
    i32.add
    i64.load)
  (func (export "load_f64_bits") (param $base i32) (param $x i32) (result i64)
    local.get $base
    local.get $x
    i32.const 0xffff
    i32.and
    i32.const 3
    i32.shl
    i32.add
    f64.load
    i64.reinterpret_f64)
  (func (export "load_f32_bits") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 24
    i32.shr_u
    i32.const 2
    i32.shl
    i32.add
    f32.load
    i32.reinterpret_f32)
  (func (export "load16_s") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 0x7f
    i32.and
    local.get $x
    i32.const 0x300
    i32.and
    i32.or
    i32.const 1
    i32.shl
    i32.add
    i32.load16_s)
  ;; The sum, and the shifted index, used as values rather than addresses.
  (func (export "sum") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 255
    i32.and
    i32.const 2
    i32.shl
    i32.add)
  (func (export "scaled") (param $x i32) (result i32)
    local.get $x
    i32.const 255
    i32.and
    i32.const 3
    i32.shl)
  ;; The sum stored to and then loaded through a local (computed before local.set).
  (func (export "sum_via_local") (param $base i32) (param $x i32) (result i32)
    (local $a i32)
    local.get $base
    local.get $x
    i32.const 255
    i32.and
    i32.const 2
    i32.shl
    i32.add
    local.tee $a
    i32.load
    local.get $a
    i32.add)
  ;; An index that may be large (no mask): the shift can wrap, so nothing is fused.
  (func (export "load_unmasked") (param $base i32) (param $x i32) (result i32)
    local.get $base
    local.get $x
    i32.const 2
    i32.shl
    i32.add
    i32.load)
  ;; crc32 over `n` bytes at `data` with the table at `table`, as clang compiles it.
  (func (export "crc32") (param $table i32) (param $data i32) (param $n i32) (result i32)
    (local $crc i32) (local $i i32)
    i32.const -1
    local.set $crc
    block $done
      local.get $n
      i32.eqz
      br_if $done
      loop $bytes
        local.get $table
        local.get $crc
        i32.const 255
        i32.and
        local.get $data
        local.get $i
        i32.add
        i32.load8_u
        i32.xor
        i32.const 2
        i32.shl
        i32.add
        i32.load
        local.get $crc
        i32.const 8
        i32.shr_u
        i32.xor
        local.set $crc
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $n
        i32.ne
        br_if $bytes
      end
    end
    local.get $crc
    i32.const -1
    i32.xor))
