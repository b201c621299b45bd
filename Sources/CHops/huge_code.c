#define _GNU_SOURCE
#include "chops.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* Whether the whole of [start, start + length) is on anonymous huge pages:
   the mapping that begins there, in /proc/self/smaps. */
static int backed_by_huge_pages(unsigned long start, size_t length) {
  FILE *smaps = fopen("/proc/self/smaps", "re");
  if (!smaps) return 0;
  char line[512];
  int inside = 0, backed = 0;
  while (fgets(line, sizeof line, smaps)) {
    unsigned long s, e, kib;
    /* A mapping's first line: "start-end perms ..."; no field's name is hex
       digits and a dash. */
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
      if (inside) break;
      inside = s == start;
    } else if (inside && sscanf(line, "AnonHugePages: %lu kB", &kib) == 1) {
      backed = kib * 1024 == length;
      break;
    }
  }
  fclose(smaps);
  return backed;
}

#define HUGE_PAGE (2UL << 20)

int hops_code_on_huge_pages(void) {
  struct stat self;
  if (stat("/proc/self/exe", &self) != 0) return 0;
  FILE *maps = fopen("/proc/self/maps", "re");
  if (!maps) return 0;
  unsigned long start = 0, end = 0;
  char line[512];
  while (fgets(line, sizeof line, maps)) {
    unsigned long s, e, inode;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s %*s %*s %lu", &s, &e, perms, &inode) != 4) continue;
    if (inode == (unsigned long)self.st_ino && strcmp(perms, "r-xp") == 0) { start = s; end = e; break; }
  }
  fclose(maps);
  unsigned long first = (start + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  unsigned long last = end & ~(HUGE_PAGE - 1);
  if (start == 0 || last <= first) return 0;
  size_t length = last - first;
  /* A copy in a 2 MiB-aligned area (mapped one huge page larger, trimmed),
     so that each of its huge pages can be mapped by one entry. */
  char *area = mmap(NULL, length + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return 0;
  char *copy = (char *)(((unsigned long)area + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
  if (copy > area) munmap(area, (size_t)(copy - area));
  size_t after = (size_t)(area + length + HUGE_PAGE - (copy + length));
  if (after) munmap(copy + length, after);
  if (madvise(copy, length, MADV_HUGEPAGE) != 0) { munmap(copy, length); return 0; }
  memcpy(copy, (void *)first, length);
  /* Small pages would be worse than the file's: fork copies every entry of
     an anonymous mapping, and each is one more TLB entry. */
  if (!backed_by_huge_pages((unsigned long)copy, length)) { munmap(copy, length); return 0; }
  /* Executable before the move, never writable and executable at once: the
     code running now (this very function) is in the range being replaced,
     and mremap swaps it for identical bytes in one step. */
  if (mprotect(copy, length, PROT_READ | PROT_EXEC) != 0) { munmap(copy, length); return 0; }
  if (mremap(copy, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)first) == MAP_FAILED) {
    munmap(copy, length);
    return 0;
  }
  return 1;
}
