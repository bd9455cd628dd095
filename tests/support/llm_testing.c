/* llm_testing.c — helpers shared by the LLM client tests; see llm_testing.h. */
#include "support/llm_testing.h"
#include "core/clock.h"
#include "fakes/fake_llm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int llm_test_closed_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		port = 1;
	else
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

void llm_test_user_request(struct llm_request *req, struct llm_msg *msgs, const char *text)
{
	memset(req, 0, sizeof(*req));
	llm_msg_init(&msgs[0], LLM_MSG_SYSTEM, "You are terse.");
	llm_msg_init(&msgs[1], LLM_MSG_USER, text);
	req->role = LLM_ROLE_MAIN;
	req->msgs = msgs;
	req->nmsgs = 2;
	req->temperature = -1;
}

void llm_test_release_msgs(struct llm_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		llm_msg_release(&msgs[i]);
}

json_t *llm_test_last_request(struct fake_llm *f)
{
	size_t n = fake_llm_request_count(f);

	return n ? fake_llm_request_json(f, n - 1) : NULL;
}

void llm_test_on_delta(const char *p, size_t n, void *ud)
{
	struct llm_test_deltas *d = ud;

	d->calls++;
	(void)buf_append(&d->text, p, n);
}

static void *chat_main(void *arg)
{
	struct llm_test_chat *t = arg;

	t->st = llm_chat(t->c, t->req, &t->out, &t->why);
	t->ended = clock_mono_ms();
	return NULL;
}

bool llm_test_chat_start(struct llm_test_chat *t, struct llm_client *c,
			 struct llm_request *req)
{
	t->c = c;
	t->req = req;
	return pthread_create(&t->thread, NULL, chat_main, t) == 0;
}

void llm_test_chat_join(struct llm_test_chat *t)
{
	pthread_join(t->thread, NULL);
}
