/* fake_llm_main.c — the standalone fake-llm server, for benchmarks and
 * trying a client by hand.
 *
 *   fake-llm --mode ollama|openai [--port N] [--reply TEXT] [--script FILE.json]
 *
 * Prints its base URL as the first line on stdout, serves until SIGINT or
 * SIGTERM, then exits 0.  The signals are blocked before the server starts
 * (its threads inherit the mask) and taken with sigwait, so no handler runs
 * in a server thread. */
#include "fakes/fake_llm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
	enum fake_llm_mode mode;
	bool mode_set;
	int port;
	const char *reply;
	const char *script;
};

static void usage(FILE *out)
{
	fputs("usage: fake-llm --mode ollama|openai [--port N] [--reply TEXT]"
	      " [--script FILE.json]\n"
	      "  Serves a fake Ollama or OpenAI-compatible API on 127.0.0.1 and prints\n"
	      "  its base URL on the first line.  The script is a JSON array of replies\n"
	      "  (see docs/fakes.md); after it runs out, every chat gets --reply.\n",
	      out);
}

static bool parse_port(const char *s, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static bool parse_mode(const char *s, struct options *o)
{
	if (!strcmp(s, "ollama"))
		o->mode = FAKE_LLM_OLLAMA;
	else if (!strcmp(s, "openai"))
		o->mode = FAKE_LLM_OPENAI;
	else
		return false;
	o->mode_set = true;
	return true;
}

/* Returns false (after saying why) on bad arguments. */
static bool parse_args(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!val) {
			fprintf(stderr, "fake-llm: %s needs a value\n", arg);
			return false;
		}
		i++;
		if (!strcmp(arg, "--mode"))
			ok = parse_mode(val, o);
		else if (!strcmp(arg, "--port"))
			ok = parse_port(val, &o->port);
		else if (!strcmp(arg, "--reply"))
			o->reply = val;
		else if (!strcmp(arg, "--script"))
			o->script = val;
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "fake-llm: bad argument '%s %s'\n", arg, val);
			return false;
		}
	}
	if (!o->mode_set)
		fprintf(stderr, "fake-llm: --mode ollama|openai is required\n");
	return o->mode_set;
}

static bool load_script(struct fake_llm *f, const char *path)
{
	json_error_t err;
	json_t *script = json_load_file(path, 0, &err);
	bool ok;

	if (!script) {
		fprintf(stderr, "fake-llm: %s:%d: %s\n", path, err.line, err.text);
		return false;
	}
	ok = fake_llm_push_json(f, script);
	json_decref(script);
	return ok;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct fake_llm *f;
	sigset_t sigs;
	int sig;

	if (!parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	f = fake_llm_start_port(o.mode, o.port);
	if (!f)
		return 1;
	if (o.reply)
		fake_llm_set_default_reply(f, o.reply);
	if (o.script && !load_script(f, o.script)) {
		fake_llm_stop(f);
		return 1;
	}
	printf("%s\n", fake_llm_url(f));
	fflush(stdout);

	sigwait(&sigs, &sig);
	fake_llm_stop(f);
	return 0;
}
