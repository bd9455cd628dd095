/* wire_int.h — the typed JSON getters that wire.c and wire_snapshot.c
 * share.  Each knows the dotted path of the field it reads ("records[3]"
 * + "level"), so every rejection reads "records[3].level: why" and returns
 * KITH_EINVAL.  Absent and null fields are the same; an optional absent
 * field leaves *out untouched. */
#ifndef KITH_HIM_WIRE_INT_H
#define KITH_HIM_WIRE_INT_H

#include "him/wire.h"

#define WIRE_PATH_MAX 96

enum kith_status wire_bad(char **why, const char *path, const char *what);
/* "base.key" (or "key" when base is ""), cut to WIRE_PATH_MAX - 1 bytes. */
void wire_subpath(char *out, const char *base, const char *key);
/* A JSON object or array (duplicate keys refused), or NULL with *why. */
json_t *wire_parse_body(const char *body, size_t len, char **why);
/* obj[key], or NULL when absent or null. */
json_t *wire_field(const json_t *obj, const char *key);
enum kith_status wire_want_object(const json_t *v, const char *path, char **why)
	KITH_MUST_CHECK;
enum kith_status wire_get_int(const json_t *obj, const char *base, const char *key,
			      long long lo, long long hi, bool required, long long *out,
			      char **why) KITH_MUST_CHECK;
/* A string without NUL bytes of at most max bytes (and not empty when
 * nonempty); *out points into obj. */
enum kith_status wire_get_str(const json_t *obj, const char *base, const char *key, size_t max,
			      bool required, bool nonempty, const char **out, char **why)
	KITH_MUST_CHECK;
/* A stream or snapshot name (him_check_name). */
enum kith_status wire_get_name(const json_t *obj, const char *base, const char *key,
			       bool required, const char **out, char **why) KITH_MUST_CHECK;
/* v, the element at `path`, is a name. */
enum kith_status wire_name_at(const json_t *v, const char *path, char **why) KITH_MUST_CHECK;

#endif
