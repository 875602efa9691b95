// String processing: generates text of N words (default 6,000,000), tokenizes it 5 times,
// counting word lengths and distinct first letters; prints the counts.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 6000000;
  static const char* vocab[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
                                "WebAssembly", "runtime", "kiln", "interpreter", "sandbox", "fuel"};
  size_t cap = (size_t)n * 13 + 1, len = 0;
  char* text = malloc(cap);
  unsigned x = 1;
  for (long i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    const char* w = vocab[(x >> 16) % 14];
    size_t l = strlen(w);
    memcpy(text + len, w, l);
    len += l;
    text[len++] = (x >> 8) % 7 == 0 ? ',' : ' ';
  }
  text[len] = 0;
  long words = 0, letters = 0, hist[16] = {0}, first[26] = {0};
  for (int round = 0; round < 5; ++round)
  for (char* p = text; *p;) {
    while (*p && !isalpha((unsigned char)*p)) ++p;
    char* start = p;
    while (isalpha((unsigned char)*p)) ++p;
    if (p > start) {
      ++words;
      letters += p - start;
      hist[(p - start) & 15]++;
      first[tolower((unsigned char)*start) - 'a']++;
    }
  }
  long distinct = 0;
  for (int i = 0; i < 26; ++i) distinct += first[i] > 0;
  printf("words %ld letters %ld distinct first letters %ld len5 %ld\n", words, letters, distinct, hist[5]);
  free(text);
  return 0;
}
