// Sanitizer builds only: libkiln.so carries its sanitizer runtime (it is linked against the
// shared ASan runtime, which includes UBSan), so a plain C program can link it with
// `cc prog.c -lkiln` and run. Such a program loads the runtime after itself, not first, which
// ASan refuses by default; this tells it not to check, as the runtime asks a library to.
extern "C" __attribute__((visibility("default"))) const char* __asan_default_options() {
  return "verify_asan_link_order=0";
}
