/* prompts.c — what extraction asks the model, the schema of its answer,
 * and the parser of that answer.
 *
 * One call per message or search: entities come back with their facts and
 * (for messages) the user's sentiment in one structured reply, instead of
 * the reference's identify → facts → sentiment round trips; background
 * model calls are the cost that matters most.  The parser trusts nothing:
 * it finds the outermost JSON object even inside code fences or prose,
 * skips malformed entries and caps every list and string. */
#include "knowledge/knowledge.h"
#include "knowledge/knowledge_int.h"

#include "core/alloc.h"
#include "core/json.h"
#include "core/utf8.h"

#include <string.h>

static const char schema[] =
	"{\"type\":\"object\",\"properties\":{\"entities\":{\"type\":\"array\",\"items\":"
	"{\"type\":\"object\",\"properties\":{"
	"\"name\":{\"type\":\"string\"},"
	"\"tagline\":{\"type\":\"string\"},"
	"\"sentiment\":{\"type\":\"string\",\"enum\":[\"positive\",\"negative\",\"none\"]},"
	"\"facts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
	"\"required\":[\"name\",\"facts\"]}}},\"required\":[\"entities\"]}";

const char *knowledge_schema_text(void)
{
	return schema;
}

const char kx_prompt_full[] =
	"You build a knowledge base of the things a person cares about. Read the text below and "
	"list the specific things it is about: products, people, organisations, software, "
	"hardware, works, scientific ideas. Use a short canonical name of one to five words, "
	"lower-case, without brackets. Leave out vague ideas, dates, places that are only "
	"context, article titles, the person themselves and the assistant.\n"
	"For each thing give a tagline of three to eight words saying what it is, and the facts "
	"the text states directly about it: one sentence each, no opinions, nothing negative "
	"like 'no information found', nothing already listed as known. If a thing is in the "
	"known list, use its name exactly as written there.\n"
	"When the text is the person's own message, set sentiment to positive or negative only "
	"when they clearly say they like or dislike the thing; a passing mention is none.\n"
	"Answer with JSON: {\"entities\":[{\"name\":…,\"tagline\":…,\"sentiment\":…,"
	"\"facts\":[…]}]}. An empty list is a fine answer.";

const char kx_prompt_known[] =
	"You add facts to a knowledge base. Read the text below and find which of the known "
	"things listed after it the text gives facts about. Only use names from the known list, "
	"exactly as written; never add other things. For each, give the facts the text states "
	"directly about it: one sentence each, no opinions, nothing already listed.\n"
	"Answer with JSON: {\"entities\":[{\"name\":…,\"facts\":[…]}]}. An empty list is a fine "
	"answer.";

/* Clip to `max` bytes on a UTF-8 boundary and trim. */
static char *clip(const char *s, size_t max)
{
	size_t n = strlen(s);
	const char *p = s;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' ||
			 p[n - 1] == '\r'))
		n--;
	return xstrndup(p, utf8_prefix(p, n, max));
}

void knowledge_reply_release(struct knowledge_reply *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->ents[i].name);
		free(r->ents[i].tagline);
		for (size_t k = 0; k < r->ents[i].nfacts; k++)
			free(r->ents[i].facts[k]);
		free(r->ents[i].facts);
	}
	free(r->ents);
	r->ents = NULL;
	r->n = 0;
}

enum kith_status knowledge_parse_reply(const char *p, size_t n, struct knowledge_reply *out,
				       char **why)
{
	json_t *root, *arr, *e;
	size_t i, cap = 0;

	memset(out, 0, sizeof(*out));
	root = kjson_object_in(p, n);
	arr = root ? json_object_get(root, "entities") : NULL;
	if (!json_is_array(arr)) {
		json_decref(root);
		return kith_why(why, KITH_EPROTO, "the model's reply has no entities list");
	}
	json_array_foreach(arr, i, e) {
		struct knowledge_found *f;
		const char *name = kjson_str(e, "name"), *tag = kjson_str(e, "tagline");
		const char *sent = kjson_str(e, "sentiment");
		json_t *facts = kjson_arr(e, "facts"), *fv;
		size_t k, fcap = 0;
		char *nm;

		if (out->n >= KX_MAX_ENTITIES)
			break;
		if (!name || strlen(name) > 4 * KX_MAX_NAME)
			continue;
		nm = clip(name, KX_MAX_NAME);
		if (!*nm) {
			free(nm);
			continue;
		}
		out->ents = xgrow(out->ents, &cap, out->n + 1, sizeof(*out->ents));
		f = &out->ents[out->n++];
		memset(f, 0, sizeof(*f));
		f->name = nm;
		f->tagline = clip(tag ? tag : "", KX_MAX_NAME);
		f->sentiment = !sent ? KX_NEUTRAL : strcmp(sent, "positive") == 0 ? KX_POSITIVE
			     : strcmp(sent, "negative") == 0 ? KX_NEGATIVE : KX_NEUTRAL;
		json_array_foreach(facts, k, fv) {
			char *c;

			if (f->nfacts >= KX_MAX_FACTS)
				break;
			if (!json_is_string(fv))
				continue;
			c = clip(json_string_value(fv), KX_MAX_FACT);
			if (!*c) {
				free(c);
				continue;
			}
			f->facts = xgrow(f->facts, &fcap, f->nfacts + 1, sizeof(*f->facts));
			f->facts[f->nfacts++] = c;
		}
	}
	json_decref(root);
	return KITH_OK;
}
