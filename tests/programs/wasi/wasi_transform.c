// Reads the file named by argv[1], writes it upper-cased to argv[2], and reports the size.
#include <ctype.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: wasi_transform IN OUT\n");
    return 2;
  }
  FILE* in = fopen(argv[1], "rb");
  if (!in) {
    perror(argv[1]);
    return 1;
  }
  FILE* out = fopen(argv[2], "wb");
  if (!out) {
    perror(argv[2]);
    return 1;
  }
  long n = 0;
  for (int c; (c = fgetc(in)) != EOF; ++n) fputc(toupper(c), out);
  fclose(in);
  fclose(out);
  printf("transformed %ld bytes\n", n);
  return 0;
}
