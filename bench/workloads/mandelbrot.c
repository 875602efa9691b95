// Mandelbrot set on a W x W grid (default 2000), up to 256 iterations; prints the total count.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int w = argc > 1 ? atoi(argv[1]) : 2000;
  long total = 0;
  for (int py = 0; py < w; ++py) {
    double ci = 2.0 * py / w - 1.0;
    for (int px = 0; px < w; ++px) {
      double cr = 3.0 * px / w - 2.0, zr = 0, zi = 0;
      int it = 0;
      while (it < 256 && zr * zr + zi * zi < 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        ++it;
      }
      total += it;
    }
  }
  printf("iterations %ld\n", total);
  return 0;
}
