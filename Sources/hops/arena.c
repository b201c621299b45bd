// The front's memory, when built against musl (scripts/build-front.sh): one
// arena in the program's own data, handed out in order and never given back.
//
// Why: musl's malloc maps and unmaps a page for nearly every small block,
// eight mmaps and seven munmaps for one `hops run`, 0.08 ms of CPU. The front
// lives for one command and allocates a few kilobytes (its request, the
// daemon's frames), so keeping everything until exit costs nothing. A block
// too big for what is left comes from mmap, as before.
//
// Only in that build (scripts/build-front.sh defines HOPS_FRONT_ARENA): in
// the SwiftPM one, against glibc, this file is empty; glibc's malloc keeps its
// memory, and a static glibc program would need more of it replaced.
#ifdef HOPS_FRONT_ARENA
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

enum { ARENA_BYTES = 1 << 20, ALIGNMENT = 16 };

static _Alignas(ALIGNMENT) unsigned char arena[ARENA_BYTES];
static size_t arena_used;

// Each block starts with its size, so that realloc knows what to copy.
struct header {
  size_t size;
  size_t reserved;  // keeps the block 16-byte aligned
};

// Not malloc itself: a compiler may turn malloc followed by memset into
// calloc, which here would call itself.
static void *allocate(size_t size) {
  if (size > SIZE_MAX - sizeof(struct header) - ALIGNMENT) return NULL;
  size_t total = (sizeof(struct header) + size + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1);
  struct header *block;
  if (total <= ARENA_BYTES - arena_used) {
    block = (struct header *)(arena + arena_used);
    arena_used += total;
  } else {
    void *mapped = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return NULL;
    block = mapped;
  }
  block->size = size;
  return block + 1;
}

void *malloc(size_t size) { return allocate(size); }

void free(void *pointer) { (void)pointer; }

void *calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  // The arena and fresh mappings are zero already, but a block is zeroed
  // anyway: cheap at these sizes, and no reasoning about where it came from.
  void *pointer = allocate(count * size);
  if (pointer) memset(pointer, 0, count * size);
  return pointer;
}

void *realloc(void *pointer, size_t size) {
  if (!pointer) return malloc(size);
  size_t old = ((struct header *)pointer - 1)->size;
  if (size <= old) return pointer;
  void *grown = allocate(size);
  if (grown) memcpy(grown, pointer, old);
  return grown;
}
#endif
