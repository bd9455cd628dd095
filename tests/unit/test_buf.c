/* test_buf.c — capped buffers and slices. */
#include "support/test.h"
#include "core/alloc.h"
#include "core/buf.h"

static void test_cap_is_enforced_without_damage(void)
{
	struct buf b = BUF_INIT(8);

	CHECK_EQ(buf_puts(&b, "12345"), KITH_OK);
	CHECK_EQ(buf_puts(&b, "6789"), KITH_ETOOBIG);
	CHECK_STR(buf_str(&b), "12345");
	CHECK_EQ(buf_puts(&b, "678"), KITH_OK);
	CHECK_EQ(b.len, 8);
	CHECK_EQ(buf_printf(&b, "%d", 9), KITH_ETOOBIG);
	CHECK_STR(buf_str(&b), "12345678");
	buf_release(&b);
}

static void test_printf_consume_detach(void)
{
	struct buf b = BUF_INIT(0);
	char *s;

	CHECK_STR(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(buf_printf(&b, "%d,", i), KITH_OK);
	buf_consume(&b, 4);
	CHECK(strncmp(buf_str(&b), "2,3,", 4) == 0);
	s = buf_detach(&b);
	CHECK(b.data == NULL && b.len == 0);
	free(s);
	s = buf_detach(&b);
	CHECK_STR(s, "");
	free(s);
}

static void test_slices(void)
{
	struct slice head, rest;
	char *d;

	CHECK(slice_eq(slice_trim(slice_cstr("  hi \n")), "hi"));
	CHECK(slice_eq(slice_trim(slice_cstr(" \t ")), ""));
	CHECK(slice_split(slice_cstr("key=value=x"), '=', &head, &rest));
	CHECK(slice_eq(head, "key"));
	CHECK(slice_eq(rest, "value=x"));
	CHECK(!slice_split(slice_cstr("novalue"), '=', &head, &rest));
	CHECK(slice_eq(head, "novalue"));
	CHECK(slice_starts_with(slice_cstr("data: x"), "data:"));
	CHECK(!slice_starts_with(slice_cstr("da"), "data:"));
	d = slice_dup(slice_of("abc", 2));
	CHECK_STR(d, "ab");
	free(d);
}

int main(void)
{
	RUN(test_cap_is_enforced_without_damage);
	RUN(test_printf_consume_detach);
	RUN(test_slices);
	return test_summary();
}
