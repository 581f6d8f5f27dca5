#include "choice.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void choice_seed(struct choice *c, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 4; i++)
		c->s[i] = splitmix(&seed);
}

void choice_from_bytes(struct choice *c, const uint8_t *bytes, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->bytes = bytes;
	c->len = len;
}

void choice_record(struct choice *c)
{
	c->log_len = 0;
	if (!c->log) {
		c->log_cap = 4096;
		c->log = malloc(c->log_cap);
		if (!c->log)
			c->log_cap = 0;
	}
}

void choice_free(struct choice *c)
{
	free(c->log);
	c->log = NULL;
	c->log_len = c->log_cap = 0;
}

/* xoshiro256** */
static uint64_t prng_next(struct choice *c)
{
	uint64_t *s = c->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* N bytes of the stream, little-endian. */
static uint32_t take(struct choice *c, int n)
{
	uint32_t v = 0;
	if (c->bytes) {
		for (int i = 0; i < n; i++)
			v |= (uint32_t)(c->pos < c->len ? c->bytes[c->pos++] : 0) << (8 * i);
	} else {
		v = (uint32_t)(prng_next(c) >> 32);
		if (n < 4)
			v &= (1u << (8 * n)) - 1;
	}
	if (c->log) {
		if (c->log_len + 4 > c->log_cap) {
			size_t cap = c->log_cap * 2;
			uint8_t *l = realloc(c->log, cap);
			if (!l)
				return v;
			c->log = l;
			c->log_cap = cap;
		}
		for (int i = 0; i < n; i++)
			c->log[c->log_len++] = (uint8_t)(v >> (8 * i));
	}
	return v;
}

uint32_t choice_below(struct choice *c, uint32_t n)
{
	if (n <= 1)
		return 0;
	int bytes = n <= 256 ? 1 : n <= 65536 ? 2 : 4;
	return take(c, bytes) % n;
}

int64_t choice_range(struct choice *c, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = (uint64_t)(hi - lo) + 1;
	if (span > 0xffffffffu)
		return lo + (int64_t)(choice_u64(c) % span);
	return lo + (int64_t)choice_below(c, (uint32_t)span);
}

int choice_pct(struct choice *c, int pct)
{
	/* 0 (an exhausted stream) means "no": optional features are off */
	return (int)choice_below(c, 100) >= 100 - pct;
}

int choice_weighted(struct choice *c, const int *weights, int n)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		total += weights[i];
	int r = (int)choice_below(c, (uint32_t)total);
	for (int i = 0; i < n; i++) {
		if (r < weights[i])
			return i;
		r -= weights[i];
	}
	return 0;
}

uint32_t choice_u32(struct choice *c)
{
	return take(c, 4);
}

uint64_t choice_u64(struct choice *c)
{
	uint64_t lo = take(c, 4);
	return lo | (uint64_t)take(c, 4) << 32;
}
