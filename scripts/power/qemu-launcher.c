/*
 * Runs a ppc64le program under qemu-user, for the emulated test run
 * (scripts/power/test-emulated.sh). Built static for the host, so that the
 * host's loader never sees the LD_PRELOAD meant for the emulated program.
 *
 *   cc -static -DQEMU_BIN='"..."' -DSYSROOT='"..."' [-DTARGET='"..."'] [-DNODE_PRELUDE='"..."']
 *
 * The program run is TARGET, or this file's own path plus ".ppc64le". With
 * NODE_PRELUDE, NODE_OPTIONS gets "--require NODE_PRELUDE" (a script that
 * points process.execPath back at this launcher, so that the children Node
 * spawns are emulated too).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  char target[4096];
#ifdef TARGET
  snprintf(target, sizeof(target), "%s", TARGET);
#else
  ssize_t n = readlink("/proc/self/exe", target, sizeof(target) - 16);
  if (n <= 0) {
    perror("qemu-launcher: /proc/self/exe");
    return 127;
  }
  strcpy(target + n, ".ppc64le");
#endif
#ifdef NODE_PRELUDE
  const char *options = getenv("NODE_OPTIONS");
  if (options == NULL || strstr(options, NODE_PRELUDE) == NULL) {
    size_t len = (options ? strlen(options) : 0) + strlen(NODE_PRELUDE) + 16;
    char *merged = malloc(len);
    if (merged == NULL) return 127;
    snprintf(merged, len, "--require %s%s%s", NODE_PRELUDE, options ? " " : "",
             options ? options : "");
    setenv("NODE_OPTIONS", merged, 1);
  }
#endif
  char **args = calloc((size_t)argc + 6, sizeof(char *));
  if (args == NULL) return 127;
  int i = 0;
  args[i++] = QEMU_BIN;
  args[i++] = "-L";
  args[i++] = SYSROOT;
  args[i++] = "-0";
  args[i++] = argv[0];
  args[i++] = target;
  for (int k = 1; k < argc; k++) args[i++] = argv[k];
  args[i] = NULL;
  execv(QEMU_BIN, args);
  perror("qemu-launcher: " QEMU_BIN);
  return 127;
}
