// A classic BPF interpreter for seccomp programs, for tests: it runs a
// program on a seccomp_data of one's choosing, so that two programs can be
// compared on every syscall number and argument without making any call.
#define _GNU_SOURCE
#include "cseccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>

uint32_t hops_seccomp_evaluate(const void *program, size_t length, uint32_t arch, int nr, const uint64_t *args) {
  struct seccomp_data data;
  memset(&data, 0, sizeof data);
  data.nr = nr;
  data.arch = arch;
  for (int i = 0; i < 6; i++) data.args[i] = args[i];
  const struct sock_filter *code = program;
  size_t count = length / sizeof *code;
  uint32_t a = 0, x = 0, memory[BPF_MEMWORDS] = {0};
  for (size_t pc = 0; pc < count; pc++) {
    const struct sock_filter *f = &code[pc];
    uint32_t operand = BPF_SRC(f->code) == BPF_X ? x : f->k;
    switch (f->code) {
    case BPF_LD | BPF_W | BPF_ABS:
      if (f->k > sizeof data - 4 || f->k % 4) return HOPS_SECCOMP_EVALUATE_INVALID;
      memcpy(&a, (const char *)&data + f->k, 4);
      continue;
    case BPF_LD | BPF_IMM: a = f->k; continue;
    case BPF_LDX | BPF_IMM: x = f->k; continue;
    case BPF_LD | BPF_MEM: if (f->k >= BPF_MEMWORDS) return HOPS_SECCOMP_EVALUATE_INVALID; a = memory[f->k]; continue;
    case BPF_LDX | BPF_MEM: if (f->k >= BPF_MEMWORDS) return HOPS_SECCOMP_EVALUATE_INVALID; x = memory[f->k]; continue;
    case BPF_ST: if (f->k >= BPF_MEMWORDS) return HOPS_SECCOMP_EVALUATE_INVALID; memory[f->k] = a; continue;
    case BPF_STX: if (f->k >= BPF_MEMWORDS) return HOPS_SECCOMP_EVALUATE_INVALID; memory[f->k] = x; continue;
    case BPF_MISC | BPF_TAX: x = a; continue;
    case BPF_MISC | BPF_TXA: a = x; continue;
    case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X: a &= operand; continue;
    case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X: a |= operand; continue;
    case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X: a += operand; continue;
    case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X: a -= operand; continue;
    case BPF_ALU | BPF_RSH | BPF_K: a >>= f->k & 31; continue;
    case BPF_ALU | BPF_LSH | BPF_K: a <<= f->k & 31; continue;
    case BPF_JMP | BPF_JA: pc += f->k; continue;
    case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X: pc += a == operand ? f->jt : f->jf; continue;
    case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X: pc += a > operand ? f->jt : f->jf; continue;
    case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X: pc += a >= operand ? f->jt : f->jf; continue;
    case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X: pc += (a & operand) ? f->jt : f->jf; continue;
    case BPF_RET | BPF_K: return f->k;
    case BPF_RET | BPF_A: return a;
    default: return HOPS_SECCOMP_EVALUATE_INVALID;
    }
  }
  return HOPS_SECCOMP_EVALUATE_INVALID;  // ran off the end
}
