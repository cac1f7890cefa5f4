/* Minimal Cortex-M start-up for the bare-metal example: vector table, .data/.bss, semihosting. */
#include <stdint.h>
#include <string.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void bl_reset(void);
void bl_fault(void);

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_estack, (const void *)bl_reset, (const void *)bl_fault, (const void *)bl_fault,
    (const void *)bl_fault, (const void *)bl_fault, (const void *)bl_fault,
};

void bl_fault(void)
{
    bl_semi_puts("bmslink example: fault\n");
    bl_semi_exit(2);
}

void bl_reset(void)
{
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    bl_semi_exit(main());
}

/* Arm semihosting: r0 = operation, r1 = argument block, BKPT 0xAB. */
static int semi(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void bl_semi_puts(const char *s)
{
    semi(0x04, s); /* SYS_WRITE0 */
}

void bl_semi_exit(int code)
{
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit with the exit code */
    uint32_t block[2] = { 0x20026u, (uint32_t)code };
    semi(0x20, block);
    for (;;)
        ;
}
