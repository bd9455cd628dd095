/* fuzz_schedule.c — /schedule's parsers.
 *
 * Input: the util model's answer to "when and what?", also read as the
 * text after /schedule.  schedule_parse_answer() must accept any bytes; the
 * strings it returns are non-empty, within their caps, without control
 * characters or surrounding spaces, and an error returns none.
 * schedule_split_cron() must accept any text; when it finds the cron form,
 * the expression has five fields cron_parse accepts and the rest is a
 * non-empty suffix of the input starting at a non-space. */
#include "knowledge/schedules.h"
#include "sched/cron.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (!n || n > cap || s[0] == ' ' || s[n - 1] == ' ')
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schedule_answer a;
	struct cron c;
	char *why = NULL, *text, *cron = NULL;
	const char *rest = NULL;

	if (schedule_parse_answer((const char *)data, size, &a, &why) != KITH_OK) {
		if (a.timing || a.prompt || a.cron)
			__builtin_trap();
	} else {
		check_str(a.timing, SCHEDULE_TIMING_MAX);
		check_str(a.prompt, SCHEDULE_PROMPT_MAX);
		check_str(a.cron, CRON_EXPR_MAX);
	}
	schedule_answer_release(&a);
	free(why);

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (schedule_split_cron(text, &cron, &rest)) {
		int spaces = 0;

		if (!cron || !rest || rest < text || rest >= text + strlen(text) || *rest == ' ')
			__builtin_trap();
		if (cron_parse(cron, &c, NULL) != KITH_OK)
			__builtin_trap();
		for (const char *p = cron; *p; p++)
			spaces += *p == ' ';
		if (spaces != 4)
			__builtin_trap();
	} else if (cron || rest) {
		__builtin_trap();
	}
	free(cron);
	free(text);
	return 0;
}
