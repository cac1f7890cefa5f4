#ifndef BL_SEMIHOST_H
#define BL_SEMIHOST_H
void bl_semi_puts(const char *s);
void bl_semi_exit(int code) __attribute__((noreturn));
#endif
