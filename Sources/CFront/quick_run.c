// Reading a `hops run` command line the way ArgumentParser reads `run` (see
// front.h): `--flag value`, `--flag=value`, `-e value`, a PATH, then `--` and
// the command. Anything this does not fully understand is handed back.
#include "front.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/// Single-valued flags by spelling, with the setting each fills. Two
/// spellings of one setting (`-w`, `--workdir`) share a slot, so giving it
/// twice either way is a repeat.
enum setting {
  PROFILE, POLICY_FILE, ROOTFS, NETWORK, CPUS, CPUSET, MEMORY, MAX_PROCESSES, TIMEOUT, WORKSPACE_MODE,
  WORKDIR, HOSTNAME, NAME, SETTINGS
};

static const struct {
  const char *flag;
  enum setting setting;
} single_valued[] = {
  {"--profile", PROFILE}, {"--policy-file", POLICY_FILE}, {"--config", POLICY_FILE}, {"--rootfs", ROOTFS},
  {"--network", NETWORK}, {"--cpus", CPUS}, {"--cpuset", CPUSET}, {"--memory", MEMORY},
  {"--max-processes", MAX_PROCESSES}, {"--timeout", TIMEOUT}, {"--workspace-mode", WORKSPACE_MODE},
  {"-w", WORKDIR}, {"--workdir", WORKDIR}, {"--hostname", HOSTNAME}, {"--name", NAME},
};

/// Switches without a value; `-i` and `--interactive` share a slot.
enum toggle { KEEP, INTERACTIVE, NO_INTERACTIVE, NO_AUTO_START, TOGGLES };

static int toggle_of(const char *flag) {
  if (strcmp(flag, "--keep") == 0) return KEEP;
  if (strcmp(flag, "-i") == 0 || strcmp(flag, "--interactive") == 0) return INTERACTIVE;
  if (strcmp(flag, "--no-interactive") == 0) return NO_INTERACTIVE;
  if (strcmp(flag, "--no-auto-start") == 0) return NO_AUTO_START;
  return -1;
}

/// A whole decimal integer as Swift's Int(text) reads one: an optional sign,
/// then digits only, within range.
static int parse_integer(const char *text, long *value) {
  const char *digits = text + (text[0] == '+' || text[0] == '-');
  if (digits[0] == 0) return 0;
  for (const char *c = digits; *c; c++) {
    if (*c < '0' || *c > '9') return 0;
  }
  errno = 0;
  char *end;
  *value = strtol(text, &end, 10);
  return errno == 0 && *end == 0;
}

static int append(struct hops_texts *texts, const char *text) {
  texts->items[texts->count++] = text;
  return 1;
}

void hops_quick_run_free(struct hops_quick_run *run) {
  free(run->environment.items);
  free(run->allow_net.items);
  free(run->publish.items);
  memset(run, 0, sizeof *run);
}

int hops_quick_run_parse(int count, char *const *arguments, struct hops_quick_run *run) {
  memset(run, 0, sizeof *run);
  if (count < 1 || strcmp(arguments[0], "run") != 0) return 0;
  int end = 1;
  while (end < count && strcmp(arguments[end], "--") != 0) end++;
  if (end >= count - 1) return 0;  // no `--`, or nothing after it
  run->command = arguments + end + 1;
  run->command_count = (size_t)(count - end - 1);
  // Each list holds at most one text per argument.
  run->environment.items = calloc((size_t)end, sizeof(char *));
  run->allow_net.items = calloc((size_t)end, sizeof(char *));
  run->publish.items = calloc((size_t)end, sizeof(char *));
  if (!run->environment.items || !run->allow_net.items || !run->publish.items) {
    hops_quick_run_free(run);
    return -1;
  }
  int toggles_seen[TOGGLES] = {0};
  const char *settings[SETTINGS] = {0};
  int index = 1;
  while (index < end) {
    const char *argument = arguments[index++];
    if (argument[0] != '-') {
      if (run->path) goto hand_back;
      run->path = argument;
      continue;
    }
    // `--flag=value`: the flag is what comes before the first '='.
    char flag[64];
    const char *inline_value = NULL;
    const char *equals = strncmp(argument, "--", 2) == 0 ? strchr(argument, '=') : NULL;
    size_t flag_length = equals ? (size_t)(equals - argument) : strlen(argument);
    if (flag_length >= sizeof flag) goto hand_back;  // no flag of ours is that long
    memcpy(flag, argument, flag_length);
    flag[flag_length] = 0;
    if (equals) inline_value = equals + 1;
    // The value: inline, or the next argument unless that looks like a flag.
    const char *value = inline_value;
    int toggle = toggle_of(flag);
    if (toggle >= 0) {
      if (inline_value || toggles_seen[toggle]) goto hand_back;
      toggles_seen[toggle] = 1;
      continue;
    }
    // ArgumentParser reads `--flag=` as a flag without its value.
    if (value && !*value) goto hand_back;
    if (!value && index < end && arguments[index][0] != '-') value = arguments[index++];
    if (strcmp(flag, "-e") == 0 || strcmp(flag, "--env") == 0) {
      if (!value) goto hand_back;
      append(&run->environment, value);
    } else if (strcmp(flag, "--allow-net") == 0) {
      if (!value) goto hand_back;
      append(&run->allow_net, value);
    } else if (strcmp(flag, "-p") == 0 || strcmp(flag, "--publish") == 0) {
      if (!value) goto hand_back;
      append(&run->publish, value);
    } else {
      int known = -1;
      for (size_t i = 0; i < sizeof single_valued / sizeof single_valued[0]; i++) {
        if (strcmp(flag, single_valued[i].flag) == 0) known = (int)single_valued[i].setting;
      }
      if (known < 0 || settings[known] || !value) goto hand_back;
      settings[known] = value;
    }
  }
  run->keep = toggles_seen[KEEP];
  run->interactive = toggles_seen[INTERACTIVE];
  run->no_interactive = toggles_seen[NO_INTERACTIVE];
  run->no_auto_start = toggles_seen[NO_AUTO_START];
  run->profile = settings[PROFILE];
  run->policy_file = settings[POLICY_FILE];
  run->rootfs = settings[ROOTFS];
  run->network = settings[NETWORK];
  run->cpus = settings[CPUS];
  run->cpuset = settings[CPUSET];
  run->memory = settings[MEMORY];
  run->timeout = settings[TIMEOUT];
  run->workspace_mode = settings[WORKSPACE_MODE];
  run->working_directory = settings[WORKDIR];
  run->hostname = settings[HOSTNAME];
  run->name = settings[NAME];
  if (settings[MAX_PROCESSES]) {
    if (!parse_integer(settings[MAX_PROCESSES], &run->max_processes)) goto hand_back;
    run->has_max_processes = 1;
  }
  return 1;

hand_back:
  hops_quick_run_free(run);
  return 0;
}
