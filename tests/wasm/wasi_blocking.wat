;; Hostile WASI calls for the hardening tests (tests/wasi_test.cpp): waits that must honour the
;; deadline, CPU-time clocks, descriptor exhaustion, non-UTF-8 names and trailing slashes.
;; Results pack errno and counts into one i32, as each export says.
(module $wasi_blocking
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link"
    (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Names, at fixed offsets: 1000 "\ff\fe", 1010 "source", 1020 "link/", 1030 "target/",
  ;; 1040 "dir/", 1050 "sym", 1060 "followed", 1070 "file.txt/".
  (data (i32.const 1000) "\ff\fe")
  (data (i32.const 1010) "source")
  (data (i32.const 1020) "link/")
  (data (i32.const 1030) "target/")
  (data (i32.const 1040) "dir/")
  (data (i32.const 1050) "sym")
  (data (i32.const 1060) "followed")
  (data (i32.const 1070) "file.txt/")

  ;; One clock subscription (clock id, relative timeout): errno * 1000000 + events * 1000 +
  ;; the event's error.
  (func $sleep (export "sleep") (param $clock i32) (param $ns i64) (result i32)
    (local $errno i32)
    (i64.store (i32.const 0) (i64.const 7))       ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))      ;; tag: clock
    (i32.store (i32.const 16) (local.get $clock))
    (i64.store (i32.const 24) (local.get $ns))
    (i64.store (i32.const 32) (i64.const 0))      ;; precision
    (i32.store16 (i32.const 40) (i32.const 0))    ;; flags: relative
    (local.set $errno (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.add (i32.mul (local.get $errno) (i32.const 1000000))
      (i32.add (i32.mul (i32.load (i32.const 128)) (i32.const 1000))
        (i32.load16_u (i32.const 72)))))

  ;; Reads stdin once: errno * 1000 + bytes read.
  (func (export "read_stdin") (result i32)
    (local $errno i32)
    (i32.store (i32.const 200) (i32.const 300))
    (i32.store (i32.const 204) (i32.const 100))
    (local.set $errno (call $read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 256)))
    (i32.add (i32.mul (local.get $errno) (i32.const 1000)) (i32.load (i32.const 256))))

  ;; Opens the preopen (fd 3) as "." again and again until an open fails or `n` are open, then
  ;; closes them all (so the process has descriptors again when it exits): errno * 100000 +
  ;; descriptors opened. At most 4000 (their numbers are kept from offset 2000).
  (func (export "open_many") (param $n i32) (result i32)
    (local $count i32) (local $errno i32) (local $i i32)
    (i32.store8 (i32.const 500) (i32.const 46))   ;; "."
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $count) (local.get $n)))
        (local.set $errno
          (call $open (i32.const 3) (i32.const 0) (i32.const 500) (i32.const 1)
            (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0)
            (i32.add (i32.const 2000) (i32.shl (local.get $count) (i32.const 2)))))
        (br_if $done (local.get $errno))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $again)))
    (block $closed
      (loop $close
        (br_if $closed (i32.ge_u (local.get $i) (local.get $count)))
        (drop (call $close
          (i32.load (i32.add (i32.const 2000) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $close)))
    (i32.add (i32.mul (local.get $errno) (i32.const 100000)) (local.get $count)))

  (func (export "mkdir_not_utf8") (result i32)
    (call $mkdir (i32.const 3) (i32.const 1000) (i32.const 2)))
  ;; path_link(3, 0, "source", 3, "link/")
  (func (export "link_to_slash") (result i32)
    (call $link (i32.const 3) (i32.const 0) (i32.const 1010) (i32.const 6)
      (i32.const 3) (i32.const 1020) (i32.const 5)))
  ;; path_symlink("source", 3, "target/")
  (func (export "symlink_to_slash") (result i32)
    (call $symlink (i32.const 1010) (i32.const 6) (i32.const 3) (i32.const 1030) (i32.const 7)))
  ;; path_unlink_file(3, "dir/")
  (func (export "unlink_dir_slash") (result i32)
    (call $unlink (i32.const 3) (i32.const 1040) (i32.const 4)))
  ;; path_unlink_file(3, "file.txt/")
  (func (export "unlink_file_slash") (result i32)
    (call $unlink (i32.const 3) (i32.const 1070) (i32.const 9)))
  ;; path_link(3, SYMLINK_FOLLOW, "sym", 3, "followed")
  (func (export "link_following") (result i32)
    (call $link (i32.const 3) (i32.const 1) (i32.const 1050) (i32.const 3)
      (i32.const 3) (i32.const 1060) (i32.const 8))))
