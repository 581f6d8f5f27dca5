/* The one source of randomness for generation, mutation and minimisation
 * (syzkaller's and Csmith's discipline). Every decision the generator makes
 * is a choice read from a byte stream: from a fuzzer's input, or from a
 * seeded PRNG that produces the stream on demand. The same bytes always give
 * the same program set, so mutating bytes mutates choices, and a seeded run
 * can save the bytes it consumed as a libFuzzer seed. */
#ifndef BPFDIFF_CHOICE_H
#define BPFDIFF_CHOICE_H

#include <stddef.h>
#include <stdint.h>

struct choice {
	const uint8_t *bytes; /* fuzzer input, or NULL for the PRNG */
	size_t len, pos;
	uint64_t s[4]; /* xoshiro256** state */
	uint8_t *log;  /* when non-NULL, every byte consumed is appended */
	size_t log_len, log_cap;
};

/* A stream from a seed (any value, 0 included). */
void choice_seed(struct choice *c, uint64_t seed);
/* A stream that reads BYTES; past their end every choice reads 0, the
 * smallest alternative, so a short input gives a small program. */
void choice_from_bytes(struct choice *c, const uint8_t *bytes, size_t len);
/* Records the bytes consumed from now on (for seed corpora); freed by choice_free. */
void choice_record(struct choice *c);
void choice_free(struct choice *c);

/* A value in [0, n), n >= 1: one byte of the stream when n <= 256, two when
 * n <= 65536, else four. */
uint32_t choice_below(struct choice *c, uint32_t n);
/* A value in [lo, hi]. */
int64_t choice_range(struct choice *c, int64_t lo, int64_t hi);
/* True with probability PCT percent (0 bytes read: false). */
int choice_pct(struct choice *c, int pct);
/* Index into WEIGHTS[0..n): alternative i with weight WEIGHTS[i]. */
int choice_weighted(struct choice *c, const int *weights, int n);
/* 32 and 64 raw bits. */
uint32_t choice_u32(struct choice *c);
uint64_t choice_u64(struct choice *c);

#endif
