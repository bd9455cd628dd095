/* main.c — the kith command: parse the subcommand and call into the core. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		printf("kith %s\n", KITH_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: kith version\n");
	return 2;
}
