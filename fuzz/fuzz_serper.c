/* fuzz_serper.c — the Serper image list parser and the image rules.
 *
 * Input: an /images body.  Every URL serper_parse() returns goes through
 * the extension, blocked-domain and MIME rules the download step applies;
 * none may read outside its string, and an accepted extension must be one
 * of the five picture types. */
#include "tools/search_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const blocked[] = { "play.google.com", "example.org", NULL };
	char **urls = NULL;
	size_t n = 0;

	if (serper_parse((const char *)data, size, &urls, &n, NULL) != KITH_OK)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *ext = serper_image_ext(urls[i]);

		(void)search_url_blocked(urls[i], blocked);
		if (ext && !serper_image_mime("application/octet-stream", ext))
			__builtin_trap();
		(void)serper_image_mime(urls[i], ext);
	}
	if (n && urls[n] != NULL)
		__builtin_trap();
	search_terms_free(urls);
	return 0;
}
