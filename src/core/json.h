/* json.h — small helpers over jansson for reading untrusted JSON.
 *
 * Accessors return NULL / false when a key is missing or has the wrong type,
 * so parsing code can check shape without a cascade of json_is_* calls.
 * Returned `const char *` point into the json_t and live as long as it. */
#ifndef KITH_CORE_JSON_H
#define KITH_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/status.h"

/* Parse text; on failure *why says where and why. Caller owns the result. */
json_t *kjson_parse(const char *p, size_t n, char **why);
/* The JSON object a model's reply carries, however it is wrapped (prose or
 * a ``` fence around it): the text from the first '{' to the last '}',
 * parsed with duplicate keys refused.  NULL when there is no object. */
json_t *kjson_object_in(const char *p, size_t n);

const char *kjson_str(const json_t *obj, const char *key);
json_t *kjson_obj(const json_t *obj, const char *key);
json_t *kjson_arr(const json_t *obj, const char *key);
bool kjson_int(const json_t *obj, const char *key, long long *out);
bool kjson_num(const json_t *obj, const char *key, double *out);   /* int or real */
bool kjson_bool(const json_t *obj, const char *key, bool *out);

/* Compact serialisation (keys sorted when `sorted`).  Caller frees. */
char *kjson_dump(const json_t *v, bool sorted);

/* Set obj[key] to a string copy; NULL value sets nothing. */
void kjson_set_str(json_t *obj, const char *key, const char *value);

#endif
