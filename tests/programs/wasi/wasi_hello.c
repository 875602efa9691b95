// Echoes its arguments and the environment it was given; exits with the status named by its
// first argument ("exit=N"), if any.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char** environ;

int main(int argc, char** argv) {
  printf("argc=%d\n", argc);
  for (int i = 1; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
  int count = 0;
  for (char** e = environ; *e; ++e) {
    printf("env %s\n", *e);
    ++count;
  }
  printf("env count=%d\n", count);
  fprintf(stderr, "to stderr\n");
  if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
  if (argc > 1 && strncmp(argv[1], "exit=", 5) == 0) {
    fflush(stdout);
    exit(atoi(argv[1] + 5));
  }
  return 0;
}
