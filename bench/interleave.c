// Start-up latency, interleaved: each round runs every command once, in an
// order shuffled anew each round (a fixed seed), so that a noisy machine
// (other tenants, frequency changes) and whatever ran just before weigh on all
// of them alike. Each run is posix_spawn to waitpid, stdio on /dev/null, timed
// on the monotonic clock.
//
//   interleave ROUNDS WARMUP FILE   (FILE: one command a line, words split on spaces)
//
// Prints one line a command: its milliseconds, space-separated.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

enum { MAX_COMMANDS = 32, MAX_WORDS = 64 };

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double run(char **argv, posix_spawn_file_actions_t *actions) {
  pid_t pid;
  double start = now_ms();
  if (posix_spawnp(&pid, argv[0], actions, NULL, argv, environ) != 0) {
    perror(argv[0]);
    exit(1);
  }
  int status;
  waitpid(pid, &status, 0);
  double elapsed = now_ms() - start;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "interleave: %s failed (status %d)\n", argv[0], status);
    exit(1);
  }
  return elapsed;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: interleave ROUNDS WARMUP FILE\n");
    return 2;
  }
  int rounds = atoi(argv[1]), warmup = atoi(argv[2]);
  FILE *file = fopen(argv[3], "r");
  if (!file) {
    perror(argv[3]);
    return 1;
  }
  char *commands[MAX_COMMANDS][MAX_WORDS + 1];
  int count = 0;
  char line[8192];
  while (count < MAX_COMMANDS && fgets(line, sizeof line, file)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    char *copy = strdup(line), *word, *rest = copy;
    int n = 0;
    while (n < MAX_WORDS && (word = strtok_r(rest, " ", &rest))) commands[count][n++] = word;
    commands[count][n] = NULL;
    count++;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
  double *times = calloc((size_t)rounds * count, sizeof *times);
  int order[MAX_COMMANDS];
  for (int c = 0; c < count; c++) order[c] = c;
  srand(1);
  for (int round = -warmup; round < rounds; round++) {
    for (int i = count - 1; i > 0; i--) {
      int j = rand() % (i + 1), swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    for (int i = 0; i < count; i++) {
      int c = order[i];
      double ms = run(commands[c], &actions);
      if (round >= 0) times[round * count + c] = ms;
    }
  }
  for (int c = 0; c < count; c++) {
    for (int round = 0; round < rounds; round++) printf("%s%.4f", round ? " " : "", times[round * count + c]);
    printf("\n");
  }
  return 0;
}
