// Copies stdin to stdout in upper case and reports the byte count on stderr.
#include <ctype.h>
#include <stdio.h>

int main(void) {
  int c;
  long count = 0;
  while ((c = getchar()) != EOF) {
    putchar(toupper(c));
    ++count;
  }
  fprintf(stderr, "%ld bytes\n", count);
  return 0;
}
