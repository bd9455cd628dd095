/* fuzz_sse.c — the SSE parser and the OpenAI-compatible chunk parser.
 *
 * Input: byte 0 picks the event cap, byte 1 where to split, the rest is the
 * stream.  The stream is fed whole and then in pieces; both must give the
 * same events, the same [DONE] and the same outcome.  Every event goes
 * through openai_chunk() into an accumulator as the client does it, which
 * reaches tool-call fragment assembly with hostile indexes. */
#include "core/buf.h"
#include "llm/llm_int.h"
#include "llm/sse.h"

#include <stdint.h>
#include <string.h>

struct run {
	struct buf events;  /* each event length-prefixed, for comparing */
	struct llm_acc *acc;
};

static enum kith_status on_event(const char *p, size_t n, void *ud)
{
	struct run *r = ud;
	uint32_t len = (uint32_t)n;
	json_t *j;
	enum kith_status st;

	if (p[n] != '\0')
		__builtin_trap();
	(void)buf_append(&r->events, &len, sizeof(len));
	(void)buf_append(&r->events, p, n);
	if (!r->acc)
		return KITH_OK;
	j = json_loadb(p, n, 0, NULL);
	if (!j)
		return KITH_OK;
	st = openai_chunk(r->acc, j);
	json_decref(j);
	if (st) {
		struct llm_response out;

		memset(&out, 0, sizeof(out));
		llm_acc_finish(r->acc, &out);
		llm_response_release(&out);
	}
	return KITH_OK;
}

static void on_delta(const char *p, size_t n, void *ud)
{
	(void)p;
	(void)n;
	(void)ud;
}

static enum kith_status feed(const uint8_t *data, size_t size, size_t cap, size_t cut,
			     size_t step, struct run *r, bool *done)
{
	struct sse s;
	enum kith_status st;
	const char *p = (const char *)data;

	sse_init(&s, cap, on_event, r);
	if (step == 0) {
		st = sse_feed(&s, p, size);
	} else {
		st = sse_feed(&s, p, cut);
		for (size_t off = cut; !st && off < size; off += step)
			st = sse_feed(&s, p + off, size - off < step ? size - off : step);
	}
	if (!st)
		st = sse_finish(&s);
	*done = s.done;
	sse_release(&s);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { BUF_INIT(0), NULL }, split = { BUF_INIT(0), NULL };
	struct llm_acc acc;
	struct llm_response out;
	size_t cap, cut, step;
	bool done_a = false, done_b = false;
	enum kith_status a, b;

	if (size < 2)
		return 0;
	cap = data[0] == 0 ? 0 : (size_t)data[0] * 4;
	step = (size_t)(data[0] % 7) + 1;
	cut = data[1];
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;

	llm_acc_init(&acc, 4096, on_delta, NULL);
	split.acc = &acc;
	a = feed(data, size, cap, 0, 0, &whole, &done_a);
	b = feed(data, size, cap, cut, step, &split, &done_b);
	if (a != b || done_a != done_b || whole.events.len != split.events.len ||
	    (whole.events.len && memcmp(whole.events.data, split.events.data, whole.events.len)))
		__builtin_trap();

	memset(&out, 0, sizeof(out));
	llm_acc_finish(&acc, &out);
	llm_response_release(&out);
	buf_release(&whole.events);
	buf_release(&split.events);
	return 0;
}
