/*
 * banned.h - functions fs never calls.
 *
 * Included last by every source file (through tool.h or directly), so a
 * use of any of these fails to compile.  Use snprintf, memcpy with a
 * known length, strtok_r, and num_parse_* from num.h instead.
 */
#ifndef FS_BANNED_H
#define FS_BANNED_H

#define BANNED(f) sorry_##f##_is_banned_in_fs

#undef strcpy
#define strcpy(...) BANNED(strcpy)
#undef strcat
#define strcat(...) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(...) BANNED(strtok)
#undef atoi
#define atoi(...) BANNED(atoi)
#undef atol
#define atol(...) BANNED(atol)
#undef atoll
#define atoll(...) BANNED(atoll)
#undef gets
#define gets(...) BANNED(gets)

#endif
