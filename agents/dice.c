/* dice.c — an example shared-object agent for kith: rolls dice.
 *
 * Build:  make -C agents   (or: cc -shared -fPIC -I include -o agents/dice.so agents/dice.c)
 * Ask:    "use dice 3d6+2", "agent:dice d20", "roll 2d10" (the keyword "roll")
 * Answer: "3d6+2: 4 + 1 + 6 + 2 = 13"
 *
 * The first NdM[+K|-K] in the request is rolled ("d20" is 1d20; nothing
 * found rolls 1d6).  Each call runs in a fresh process, so the random
 * numbers come from getrandom(), not from a seed kept between calls. */
#include <kith/plugin.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

KITH_PLUGIN("Rolls dice: give it NdM, like 3d6 or d20+2");
KITH_PLUGIN_KEYWORDS("dice", "roll", "d20");

#define MAX_DICE 100
#define MAX_SIDES 1000

/* Parse the number at *p (at most 4 digits); -1 when there is none. */
static long number(const char **p)
{
	long v = 0;
	int digits = 0;

	while (isdigit((unsigned char)**p) && digits < 5) {
		v = v * 10 + (**p - '0');
		(*p)++;
		digits++;
	}
	return digits ? v : -1;
}

/* Find the first dice expression in text. */
static int parse(const char *text, long *count, long *sides, long *bonus)
{
	for (const char *s = text; *s; s++) {
		const char *p = s;
		long n, m, k = 0;

		if (s != text && isalnum((unsigned char)s[-1]))
			continue;
		n = number(&p);
		if (*p != 'd' && *p != 'D')
			continue;
		p++;
		m = number(&p);
		if (m < 0)
			continue;
		if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
			int sign = *p == '-' ? -1 : 1;

			p++;
			k = sign * number(&p);
		}
		if (isalnum((unsigned char)*p))
			continue;
		*count = n < 0 ? 1 : n;
		*sides = m;
		*bonus = k;
		return 1;
	}
	*count = 1;
	*sides = 6;
	*bonus = 0;
	return 1;
}

static unsigned long roll(long sides)
{
	unsigned int r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)rand();
	return 1 + r % (unsigned long)sides;   /* the bias is below 1e-6 for these sizes */
}

int kith_plugin_run(const char *input, char *out, size_t out_len)
{
	long count, sides, bonus, total = 0;
	size_t used;

	parse(input, &count, &sides, &bonus);
	if (count < 1 || count > MAX_DICE || sides < 2 || sides > MAX_SIDES) {
		snprintf(out, out_len, "I roll 1 to %d dice with 2 to %d sides", MAX_DICE, MAX_SIDES);
		return 1;
	}
	used = (size_t)snprintf(out, out_len, "%ldd%ld%s%.0ld:", count, sides,
				bonus > 0 ? "+" : "", bonus);
	for (long i = 0; i < count; i++) {
		long r = (long)roll(sides);

		total += r;
		if (used < out_len)
			used += (size_t)snprintf(out + used, out_len - used, "%s%ld", i ? " +" : " ", r);
	}
	if (used < out_len && bonus)
		used += (size_t)snprintf(out + used, out_len - used, " %c %ld", bonus > 0 ? '+' : '-',
					 labs(bonus));
	if (used < out_len && (bonus || count > 1))
		snprintf(out + used, out_len - used, " = %ld", total + bonus);
	return 0;
}
