/* evbase: libevent 2.1.12's event core, rebuilt in Rust.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * event2/visibility.h -- the markers that sit in front of every exported
 * declaration.  Programs that use the library see them expand to nothing;
 * they only mean something while one of libevent's own shared libraries is
 * being compiled (the *_shared_EXPORTS names are the ones CMake defines for
 * those targets), and evbase, whose exports come from Rust, never is.
 */
#ifndef EVENT2_VISIBILITY_H_INCLUDED_
#define EVENT2_VISIBILITY_H_INCLUDED_

#include <event2/event-config.h>

#if defined(event_shared_EXPORTS) || \
    defined(event_extra_shared_EXPORTS) || \
    defined(event_core_shared_EXPORTS) || \
    defined(event_pthreads_shared_EXPORTS) || \
    defined(event_openssl_shared_EXPORTS)
/* Building one of libevent's shared libraries: export on purpose. */
# if defined(__SUNPRO_C) && (__SUNPRO_C >= 0x550)
#  define EVENT2_EXPORT_SYMBOL __global
# elif defined __GNUC__
#  define EVENT2_EXPORT_SYMBOL __attribute__ ((visibility("default")))
# elif defined(_MSC_VER)
#  define EVENT2_EXPORT_SYMBOL __declspec(dllexport)
# else
#  define EVENT2_EXPORT_SYMBOL /* no way to say it on this compiler */
# endif
#else
/* Using the library: a declaration is just a declaration. */
# define EVENT2_EXPORT_SYMBOL
#endif

/* On MSVC the core's symbols are imported by the other libevent DLLs. */
#if defined(_MSC_VER)
# if defined(event_core_shared_EXPORTS)
#  define EVENT2_CORE_EXPORT_SYMBOL __declspec(dllexport)
# elif defined(event_extra_shared_EXPORTS) || \
       defined(EVENT_VISIBILITY_WANT_DLLIMPORT)
#  define EVENT2_CORE_EXPORT_SYMBOL __declspec(dllimport)
# endif
#endif
#if !defined(EVENT2_CORE_EXPORT_SYMBOL)
# define EVENT2_CORE_EXPORT_SYMBOL EVENT2_EXPORT_SYMBOL
#endif

#endif /* EVENT2_VISIBILITY_H_INCLUDED_ */
