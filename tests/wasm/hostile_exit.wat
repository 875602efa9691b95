;; proc_exit with a status chosen on the command line (tests/cli_test.cpp).
(module $hostile_exit
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func (export "exit_with") (param i32)
    local.get 0
    call $proc_exit))
