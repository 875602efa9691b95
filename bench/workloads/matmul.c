// Dense double-precision matrix multiply, N x N (default 1500); prints a checksum of C.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1500;
  double* a = malloc(sizeof(double) * n * n);
  double* b = malloc(sizeof(double) * n * n);
  double* c = malloc(sizeof(double) * n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = (double)(i % 17) / 7.0;
    b[i] = (double)(i % 13) / 5.0;
    c[i] = 0;
  }
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  double sum = 0;
  for (int i = 0; i < n * n; ++i) sum += c[i] * (double)(i % 7 + 1);
  printf("checksum %.6f\n", sum);
  free(a);
  free(b);
  free(c);
  return 0;
}
