// The sandbox's seccomp filter, written here as BPF by hand: the syscall
// numbers cut into intervals (the allowed calls' runs, each call with an
// argument rule (rules.h) on its own, the denied gaps between them), found
// by halving.
//
// Why not libseccomp's program: it tests each allowed call on its own, 413
// instructions for the default 295 calls, while those calls' numbers form
// only 29 runs. The kernel converts, JIT-compiles and runs a program for
// every syscall number when it installs it (to cache which calls are always
// allowed), in every sandbox: about 0.15 ms of CPU for libseccomp's program.
// This one has 113 instructions, and a call walks at most seven comparisons. It must decide exactly as libseccomp's
// does; SeccompTests runs both on every syscall number with every argument
// that matters and compares. Should it ever not fit (a jump beyond 255
// instructions), the daemon uses libseccomp's (SeccompCompiler).
#define _GNU_SOURCE
#include "cseccomp.h"
#include "rules.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_INSTRUCTIONS = 1024, MAX_LABELS = 512, MAX_CALLS = 1024 };

// Where a jump goes: an instruction's index once known (a label), resolved
// after the whole program is written.
enum { DENY = 0, ALLOW = 1, NOSYS = 2, FIRST_FREE_LABEL = 3 };

struct writer {
  struct sock_filter code[MAX_INSTRUCTIONS];
  int true_label[MAX_INSTRUCTIONS];   // -1: the jump offset is already in code[i]
  int false_label[MAX_INSTRUCTIONS];
  int count;
  int at[MAX_LABELS];                 // label -> instruction index
  int labels;
  int overflow;
};

static int new_label(struct writer *w) {
  if (w->labels >= MAX_LABELS) {
    w->overflow = 1;
    return DENY;
  }
  w->at[w->labels] = -1;
  return w->labels++;
}

static void place(struct writer *w, int label) { w->at[label] = w->count; }

static void emit(struct writer *w, uint16_t code, uint32_t k, int jt, int jf) {
  if (w->count >= MAX_INSTRUCTIONS) {
    w->overflow = 1;
    return;
  }
  w->code[w->count] = (struct sock_filter){code, 0, 0, k};
  w->true_label[w->count] = jt;
  w->false_label[w->count] = jf;
  w->count++;
}

// A conditional jump: to `jt` if true, else to `jf` (-1: the next instruction).
static void jump_if(struct writer *w, uint16_t op, uint32_t k, int jt, int jf) { emit(w, BPF_JMP | op | BPF_K, k, jt, jf); }
static void load(struct writer *w, uint32_t offset) { emit(w, BPF_LD | BPF_W | BPF_ABS, offset, -1, -1); }
static void go(struct writer *w, int label) { emit(w, BPF_JMP | BPF_JA, 0, label, -1); }

// The low and high 32 bits of argument `n` (x86-64 is little-endian).
static uint32_t argument_low(int n) { return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * n); }
static uint32_t argument_high(int n) { return argument_low(n) + 4; }

// The number line cut into intervals, each going to one label (DENY,
// ALLOW, a rule's block): interval i is [start[i], start[i+1]).
struct intervals {
  uint32_t start[2 * MAX_CALLS + 2];
  int target[2 * MAX_CALLS + 2];
  int count;
};

// Appends the interval starting at `start`, unless the last one already
// goes to `target` (then that one simply goes on).
static int push_interval(struct intervals *line, uint32_t start, int target) {
  if (line->count > 0 && line->target[line->count - 1] == target) return 0;
  if (line->count == (int)(sizeof line->start / sizeof line->start[0])) return -1;
  line->start[line->count] = start;
  line->target[line->count++] = target;
  return 0;
}

// Where intervals[from..<to] go, by halving: one JGE per split, and no
// instruction at all for a single interval (its parent jumps to its label).
// Returns the label to jump to.
static int interval_tree(struct writer *w, const struct intervals *line, int from, int to) {
  if (to - from == 1) return line->target[from];
  int here = new_label(w);
  place(w, here);
  int middle = (from + to) / 2;
  // Children are written after their parent (classic BPF only jumps
  // forward): the parent's targets are filled in once they are known.
  int node = w->count;
  jump_if(w, BPF_JGE, line->start[middle], -1, -1);
  int below = interval_tree(w, line, from, middle);
  int above = interval_tree(w, line, middle, to);
  if (node < MAX_INSTRUCTIONS) {
    w->false_label[node] = below;
    w->true_label[node] = above;
  }
  return here;
}

struct segment {
  uint32_t lo, hi;
  int target;
};

static int by_number(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int by_start(const void *a, const void *b) {
  uint32_t x = ((const struct segment *)a)->lo, y = ((const struct segment *)b)->lo;
  return x < y ? -1 : x > y;
}

// Jump offsets from labels; 0 if every jump fits in its 8 bits (jt, jf) and
// goes forward, as classic BPF requires.
static int resolve(struct writer *w) {
  for (int i = 0; i < w->count; i++) {
    struct sock_filter *f = &w->code[i];
    int targets[2] = {w->true_label[i], w->false_label[i]};
    for (int t = 0; t < 2; t++) {
      if (targets[t] < 0) continue;
      int to = w->at[targets[t]];
      int offset = to - (i + 1);
      if (to < 0 || offset < 0) return -EINVAL;
      if (f->code == (BPF_JMP | BPF_JA)) {
        f->k = (uint32_t)offset;
      } else {
        if (offset > 255) return -E2BIG;
        if (t == 0) f->jt = (uint8_t)offset; else f->jf = (uint8_t)offset;
      }
    }
  }
  return 0;
}

int hops_seccomp_compile(const char *const *allowed, int count, int flags, void **program, size_t *length,
                         char *message, size_t message_size) {
  *program = NULL;
  *length = 0;
  struct writer *w = calloc(1, sizeof *w);
  int *plain = malloc(sizeof(int) * MAX_CALLS);
  struct segment *segments = malloc(sizeof *segments * (MAX_CALLS + 32));
  struct intervals *line = calloc(1, sizeof *line);
  if (!w || !plain || !segments || !line) {
    free(w), free(plain), free(segments), free(line);
    snprintf(message, message_size, "out of memory");
    return -ENOMEM;
  }
  w->labels = FIRST_FREE_LABEL;
  for (int l = 0; l < FIRST_FREE_LABEL; l++) w->at[l] = -1;

  // Not this architecture (32-bit int 0x80), or x32's numbers: refused, as
  // libseccomp's program refuses them for a filter of the native one only.
  load(w, offsetof(struct seccomp_data, arch));
  jump_if(w, BPF_JEQ, AUDIT_ARCH_X86_64, -1, DENY);
  load(w, offsetof(struct seccomp_data, nr));
  jump_if(w, BPF_JGE, 0x40000000, DENY, -1);

  // The calls with a rule of their own, each to its block (written after the
  // tree), and the rest, allowed outright.
  struct { int nr; int kind; int argument; int label; } rules[32];
  enum { CLONE, NOSYS_ALWAYS, MODE, PERSONALITY };
  int nrules = 0, nplain = 0;
  for (int i = 0; i < count; i++) {
    if (nplain == MAX_CALLS) {
      w->overflow = 1;
      break;
    }
    const char *name = allowed[i];
    int nr = hops_seccomp_resolve(name);
    if (nr < 0) continue;  // not a syscall of this architecture
    int kind = -1, argument = -1;
    if (strcmp(name, "clone") == 0) kind = CLONE;
    else if (strcmp(name, "clone3") == 0) kind = NOSYS_ALWAYS;
    else if (!(flags & HOPS_SECCOMP_SETUID_BITS) && (argument = mode_argument(name)) >= 0) kind = MODE;
    else if (!(flags & HOPS_SECCOMP_SETUID_BITS) && strcmp(name, "openat2") == 0) kind = NOSYS_ALWAYS;
    else if (strcmp(name, "personality") == 0) kind = PERSONALITY;
    if (kind < 0) {
      plain[nplain++] = nr;
      continue;
    }
    int seen = 0;  // a call listed twice keeps its first rule
    for (int q = 0; q < nrules; q++) seen |= rules[q].nr == nr;
    if (seen) continue;
    if (nrules == 32) {
      w->overflow = 1;
      break;
    }
    rules[nrules].nr = nr;
    rules[nrules].kind = kind;
    rules[nrules].argument = argument;
    rules[nrules].label = kind == NOSYS_ALWAYS ? NOSYS : new_label(w);
    nrules++;
  }

  // The allowed numbers in runs, and each ruled call a run of its own, cut the
  // number line into intervals; the gaps between them are denied.
  qsort(plain, (size_t)nplain, sizeof plain[0], by_number);
  int nsegments = 0;
  for (int i = 0; i < nplain; i++) {
    int ruled = 0;  // a ruled call listed among the plain ones too keeps its rule
    for (int r = 0; r < nrules; r++) ruled |= rules[r].nr == plain[i];
    if (ruled) continue;
    if (nsegments > 0 && (uint32_t)plain[i] <= segments[nsegments - 1].hi + 1) {
      if ((uint32_t)plain[i] > segments[nsegments - 1].hi) segments[nsegments - 1].hi = (uint32_t)plain[i];
    } else {
      segments[nsegments++] = (struct segment){(uint32_t)plain[i], (uint32_t)plain[i], ALLOW};
    }
  }
  for (int r = 0; r < nrules; r++) {
    segments[nsegments++] = (struct segment){(uint32_t)rules[r].nr, (uint32_t)rules[r].nr, rules[r].label};
  }
  qsort(segments, (size_t)nsegments, sizeof segments[0], by_start);
  uint64_t next = 0;  // the first number no interval covers yet
  int full = 0;
  for (int i = 0; i < nsegments; i++) {
    if (segments[i].lo > next) full |= push_interval(line, (uint32_t)next, DENY);
    full |= push_interval(line, segments[i].lo, segments[i].target);
    next = (uint64_t)segments[i].hi + 1;
  }
  if (next <= UINT32_MAX) full |= push_interval(line, (uint32_t)next, DENY);
  if (full) w->overflow = 1;
  int tree = interval_tree(w, line, 0, line->count);
  if (line->count == 1) go(w, tree);  // the whole line goes to one place

  for (int r = 0; r < nrules; r++) {
    if (rules[r].kind == NOSYS_ALWAYS) continue;
    place(w, rules[r].label);
    switch (rules[r].kind) {
    case CLONE:  // no namespace flag in its flags (the low half: the flags are below 2^32)
      load(w, argument_low(0));
      jump_if(w, BPF_JSET, (uint32_t)namespace_flags, DENY, ALLOW);
      break;
    case MODE:  // no set-id bit in the mode
      load(w, argument_low(rules[r].argument));
      jump_if(w, BPF_JSET, (uint32_t)set_id_bits, DENY, ALLOW);
      break;
    case PERSONALITY: {  // one of the harmless ones, all 64 bits of it
      load(w, argument_high(0));
      jump_if(w, BPF_JEQ, 0, -1, DENY);
      load(w, argument_low(0));
      size_t n = sizeof harmless_personas / sizeof harmless_personas[0];
      for (size_t p = 0; p < n; p++) jump_if(w, BPF_JEQ, (uint32_t)harmless_personas[p], ALLOW, p + 1 == n ? DENY : -1);
      break;
    }
    }
  }
  place(w, DENY);
  emit(w, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA), -1, -1);
  place(w, ALLOW);
  emit(w, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, -1, -1);
  place(w, NOSYS);
  emit(w, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA), -1, -1);

  int rc = w->overflow ? -E2BIG : resolve(w);
  if (rc == 0) {
    size_t bytes = sizeof(struct sock_filter) * (size_t)w->count;
    *program = malloc(bytes);
    if (*program) {
      memcpy(*program, w->code, bytes);
      *length = bytes;
    } else {
      rc = -ENOMEM;
    }
  }
  if (rc < 0) snprintf(message, message_size, "the filter does not fit a classic BPF program (%s)", strerror(-rc));
  free(w), free(plain), free(segments), free(line);
  return rc;
}
