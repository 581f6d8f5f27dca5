/* The command line's subcommands, one file per group. */
#ifndef BPFDIFF_CLI_H
#define BPFDIFF_CLI_H

#define EXIT_FAIL 1
#define EXIT_ERROR 2

int cmd_fuzz(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_minimize(int argc, char **argv);

/* A number on the command line: the whole string, decimal or 0x hex. */
int cli_number(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out);

/* Calls FN for PATH, or for each .bpf and .data file under the directory
 * PATH in name order; ERR is non-NULL when a path cannot be read. */
typedef void (*cli_file_fn)(const char *path, const char *err, void *ctx);
void cli_walk(const char *path, cli_file_fn fn, void *ctx);

#endif
