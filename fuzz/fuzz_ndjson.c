/* fuzz_ndjson.c — the NDJSON splitter and Ollama's chunk parser.
 *
 * Input: byte 0 picks the line cap, byte 1 where to split, the rest is the
 * stream.  Two checks besides the sanitizers: the stream is fed whole and
 * then in pieces, and both must give the same lines and the same outcome
 * (where reads fall must never matter); and every line goes through
 * ollama_chunk() into an accumulator exactly as the client does it. */
#include "core/buf.h"
#include "llm/llm_int.h"
#include "llm/ndjson.h"

#include <stdint.h>
#include <string.h>

struct run {
	struct buf lines;   /* each line length-prefixed, for comparing */
	struct llm_acc *acc;
};

static enum kith_status on_line(const char *p, size_t n, void *ud)
{
	struct run *r = ud;
	uint32_t len = (uint32_t)n;
	json_t *j;
	enum kith_status st;

	(void)buf_append(&r->lines, &len, sizeof(len));
	(void)buf_append(&r->lines, p, n);
	if (!r->acc)
		return KITH_OK;
	j = json_loadb(p, n, 0, NULL);
	if (!j)
		return KITH_OK;   /* the client stops here; keep splitting */
	st = ollama_chunk(r->acc, j);
	json_decref(j);
	/* Server-reported errors end a real stream; for the splitter's sake
	 * carry on with a fresh accumulator. */
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
			     size_t step, struct run *r)
{
	struct ndjson nd;
	enum kith_status st;
	const char *p = (const char *)data;

	ndjson_init(&nd, cap, on_line, r);
	if (step == 0) {
		st = ndjson_feed(&nd, p, size);
	} else {
		st = ndjson_feed(&nd, p, cut);
		for (size_t off = cut; !st && off < size; off += step)
			st = ndjson_feed(&nd, p + off, size - off < step ? size - off : step);
	}
	if (!st)
		st = ndjson_finish(&nd);
	ndjson_release(&nd);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { BUF_INIT(0), NULL }, split = { BUF_INIT(0), NULL };
	struct llm_acc acc;
	struct llm_response out;
	size_t cap, cut, step;
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
	a = feed(data, size, cap, 0, 0, &whole);
	b = feed(data, size, cap, cut, step, &split);
	if (a != b || whole.lines.len != split.lines.len ||
	    (whole.lines.len && memcmp(whole.lines.data, split.lines.data, whole.lines.len)))
		__builtin_trap();

	memset(&out, 0, sizeof(out));
	llm_acc_finish(&acc, &out);
	llm_response_release(&out);
	buf_release(&whole.lines);
	buf_release(&split.lines);
	return 0;
}
