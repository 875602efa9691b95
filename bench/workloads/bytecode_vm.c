// A small stack-machine interpreter with switch dispatch running a loop program N times
// (default 45,000,000 iterations); prints the final accumulator.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, ADD, MUL, DUP, SWAP, DEC, JNZ, XOR, SHR, HALT };

int main(int argc, char** argv) {
  int64_t n = argc > 1 ? atoll(argv[1]) : 45000000;
  // acc, counter on the stack: loop { acc = (acc * 31 + counter) ^ (acc >> 7); counter-- }
  const int32_t program[] = {
      /* 0 */ SWAP, PUSH, 31, MUL, /* acc*31 */
      /* 4 */ SWAP, DUP, /* acc*31 counter counter */
      /* 6 */ PUSH, 0, ADD, /* no-op add keeps dispatch busy */
      /* 9 */ SWAP, /* acc*31 counter counter -> acc*31 counter counter (order for add below) */
      /* 10 */ DEC, JNZ, 0, HALT};
  int64_t stack[16];
  int sp = 0;
  stack[sp++] = 7;  // acc
  stack[sp++] = n;  // counter
  int pc = 0;
  uint64_t steps = 0;
  for (;;) {
    ++steps;
    switch (program[pc++]) {
      case PUSH: stack[sp++] = program[pc++]; break;
      case ADD: --sp; stack[sp - 1] += stack[sp]; break;
      case MUL: --sp; stack[sp - 1] *= stack[sp]; break;
      case DUP: stack[sp] = stack[sp - 1]; ++sp; break;
      case SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
      case DEC: stack[sp - 1] -= 1; break;
      case XOR: --sp; stack[sp - 1] ^= stack[sp]; break;
      case SHR: stack[sp - 1] >>= 7; break;
      case JNZ: {
        int target = program[pc++];
        // fold the duplicated counter into the accumulator, keep one counter
        int64_t counter = stack[--sp];
        int64_t dup = stack[--sp];
        stack[sp - 1] = (stack[sp - 1] + dup) ^ (stack[sp - 1] >> 7);
        stack[sp++] = counter;
        if (counter) pc = target;
        break;
      }
      case HALT: goto done;
    }
  }
done:
  printf("acc %lld after %llu steps\n", (long long)stack[0], (unsigned long long)steps);
  return 0;
}
