// How the zygote's code is mapped, so that its children start with it
// mapped too: on huge pages (hops_code_on_huge_pages), and what is left on
// the file's pages with its page-table entries copied at fork
// (hops_share_code_with_children).
#define _GNU_SOURCE
#include "chops.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct mapping {
  unsigned long start, end;
  char perms[5];
};

/* The executable's own private mappings that are not writable (code and
   constants), at most `max`: those of its inode in /proc/self/maps. */
static int own_read_only_mappings(struct mapping *found, int max) {
  struct stat self;
  if (stat("/proc/self/exe", &self) != 0) return 0;
  FILE *maps = fopen("/proc/self/maps", "re");
  if (!maps) return 0;
  int count = 0;
  char line[512];
  while (count < max && fgets(line, sizeof line, maps)) {
    struct mapping m;
    unsigned long inode;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %lu", &m.start, &m.end, m.perms, &inode) != 4) continue;
    if (inode == (unsigned long)self.st_ino && m.perms[0] == 'r' && m.perms[1] == '-' && m.perms[3] == 'p') {
      found[count++] = m;
    }
  }
  fclose(maps);
  return count;
}

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
  struct mapping found[8];
  int count = own_read_only_mappings(found, 8);
  unsigned long start = 0, end = 0;
  for (int i = 0; i < count && start == 0; i++) {
    if (found[i].perms[2] == 'x') start = found[i].start, end = found[i].end;
  }
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

/* fork(2) copies a mapping's entries only when it has private pages (an
   anon_vma); a read-only mapping of the executable has none, so every child
   found its code unmapped and took a page fault for each 64 KiB of it that
   it ran: about 45 a sandbox, 0.1 ms of CPU. One private copy of one page of
   each (the same bytes) gives the mapping an anon_vma, so fork copies its
   entries instead, a few hundred at a time. */
void hops_share_code_with_children(void) {
  struct mapping found[8];
  int count = own_read_only_mappings(found, 8);
  for (int i = 0; i < count; i++) {
    /* The whole mapping changes protection (a part would split it, and only
       the part with the private page would be copied), for an instant, before
       any request, with one thread: our own code, nobody else's. */
    void *start = (void *)found[i].start;
    size_t length = found[i].end - found[i].start;
    int protection = PROT_READ | (found[i].perms[2] == 'x' ? PROT_EXEC : 0);
    if (mprotect(start, length, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) continue;
    volatile unsigned char *byte = (volatile unsigned char *)(found[i].end - 1);
    *byte = *byte;
    /* Never left writable: a zygote that cannot restore it ends (the daemon
       then spawns each hops-init). */
    if (mprotect(start, length, protection) != 0) _exit(127);
  }
}
