/* kith/plugin.h — the interface of a shared-object agent for kith.
 *
 * This is the only kith header meant for code outside kith.  It needs
 * nothing but a C compiler; build an agent with
 *
 *     cc -shared -fPIC -I/path/to/kith/include -o dice.so dice.c
 *
 * and drop dice.so into kith's AGENTS_DIR.  The agent's name is the file
 * name without its extension ("dice"); it must be lower-case letters,
 * digits, '_' or '-'.  kith notices new, changed and removed files while it
 * runs.
 *
 * What an agent exports (all with C linkage):
 *
 *   kith_plugin_abi_version   const int, KITH_PLUGIN_ABI_VERSION at build
 *                             time; kith refuses any other value.
 *   kith_plugin_description   const char *const, one line saying what the
 *                             agent does (kith shows it in /sel_agents and
 *                             to the model).
 *   kith_plugin_keywords      optional: const char *const[], NULL-terminated;
 *                             words that, found in a message, suggest this
 *                             agent ("dice", "roll").
 *   kith_plugin_run           the entry point, see below.
 *
 * The macros at the end write the first three for you:
 *
 *     #include <kith/plugin.h>
 *     #include <stdio.h>
 *
 *     KITH_PLUGIN("Echoes what it is given");
 *     KITH_PLUGIN_KEYWORDS("echo", "repeat");
 *
 *     int kith_plugin_run(const char *input, char *out, size_t out_len)
 *     {
 *             snprintf(out, out_len, "you said: %s", input);
 *             return 0;
 *     }
 *
 * How kith calls an agent — the contract both sides keep:
 *   - Every call happens in a fresh child process: kith forks, loads the
 *     agent there, calls it once and the process exits.  A crash, a hang or
 *     a leak ends with that process; kith reports it ("agent dice crashed
 *     (signal 11)", "agent dice timed out") and carries on.  Static state
 *     does not survive from one call to the next.
 *   - Loading happens the same way when kith lists the agent, so
 *     constructors run in a child as well.
 *   - `input` is the user's request, NUL-terminated UTF-8, never NULL
 *     (possibly ""), owned by kith: read it, do not keep or free it.
 *   - `out` is a buffer of `out_len` bytes (out_len >= 1), owned by kith and
 *     zero-filled.  Write a NUL-terminated UTF-8 answer into it; at most
 *     out_len - 1 bytes of text.  Anything longer is your bug, but kith
 *     still only reads out_len - 1 bytes.  Never keep the pointer.
 *   - Return 0 for success: `out` is the answer.  Return non-zero for a
 *     failure: `out` (if not empty) is the reason, shown to the user.
 *   - Return from kith_plugin_run rather than calling exit(); standard
 *     input, output and error are /dev/null, and the call has a time limit
 *     (AGENT_TIMEOUT, 30 s by default) after which the process is killed.
 *   - The process is a copy of kith, so an agent is trusted code: the copy
 *     isolates faults, not secrets.  Agents you do not trust should be
 *     executables (see docs/plugins.md), which run with a clean
 *     environment and nothing of kith's memory.
 *
 * Versioning: KITH_PLUGIN_ABI_VERSION changes whenever any of the above
 * changes incompatibly; kith loads only agents built against its own
 * version. */
#ifndef KITH_PLUGIN_H
#define KITH_PLUGIN_H

#include <stddef.h>

#define KITH_PLUGIN_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define KITH_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define KITH_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
#define KITH_PLUGIN_EXTERN_ extern "C"
#else
#define KITH_PLUGIN_EXTERN_ extern
#endif

/* The symbols an agent defines, declared here so the compiler checks the
 * agent's definitions against them. */
KITH_PLUGIN_EXTERN_ KITH_PLUGIN_EXPORT const int kith_plugin_abi_version;
KITH_PLUGIN_EXTERN_ KITH_PLUGIN_EXPORT const char *const kith_plugin_description;
KITH_PLUGIN_EXTERN_ KITH_PLUGIN_EXPORT const char *const kith_plugin_keywords[];
KITH_PLUGIN_EXTERN_ KITH_PLUGIN_EXPORT int kith_plugin_run(const char *input, char *out,
							   size_t out_len);

/* KITH_PLUGIN("what it does") defines the version and the description.
 * (The declarations above carry the linkage and visibility, so these
 * definitions are exported even under -fvisibility=hidden, in C and C++.) */
#define KITH_PLUGIN(description)                                          \
	const int kith_plugin_abi_version = KITH_PLUGIN_ABI_VERSION;      \
	const char *const kith_plugin_description = (description)

/* KITH_PLUGIN_KEYWORDS("w1", "w2") defines the NULL-terminated list. */
#define KITH_PLUGIN_KEYWORDS(...) \
	const char *const kith_plugin_keywords[] = { __VA_ARGS__, NULL }

#endif
