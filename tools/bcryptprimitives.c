/* tools/bcryptprimitives.c: a minimal bcryptprimitives.dll for Wine < 8.13.
 *
 * Rust's std (since 1.78) imports ProcessPrng from bcryptprimitives.dll,
 * which Wine added in 8.13; Debian 12 ships Wine 8.0, where every Rust test
 * binary would die before main. tools/wine-runner.sh builds this file into
 * the Wine prefix's system32 on first use. ProcessPrng fills the buffer from
 * RtlGenRandom (advapi32's SystemFunction036), in chunks it accepts. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
