/* banned.h — functions that are easy to misuse; using one is a compile error.
 *
 * The build force-includes this file into every kith source (-include), so
 * it first pulls in the system headers that declare the banned functions;
 * their include guards then keep later #includes from seeing the macros. */
#ifndef KITH_CORE_BANNED_H
#define KITH_CORE_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KITH_BANNED(func) sorry_##func##_is_banned_in_kith

#undef strcpy
#define strcpy(x, y) KITH_BANNED(strcpy)
#undef strcat
#define strcat(x, y) KITH_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) KITH_BANNED(strncpy)
#undef sprintf
#define sprintf(...) KITH_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KITH_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) KITH_BANNED(strtok)
#undef atoi
#define atoi(x) KITH_BANNED(atoi)
#undef atol
#define atol(x) KITH_BANNED(atol)
#undef atof
#define atof(x) KITH_BANNED(atof)
#undef gmtime
#define gmtime(t) KITH_BANNED(gmtime)
#undef localtime
#define localtime(t) KITH_BANNED(localtime)
#undef ctime
#define ctime(t) KITH_BANNED(ctime)
#undef asctime
#define asctime(t) KITH_BANNED(asctime)
#undef gets
#define gets(x) KITH_BANNED(gets)

#endif
